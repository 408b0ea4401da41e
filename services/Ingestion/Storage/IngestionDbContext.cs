using Beacon.Governance;
using Beacon.Ingestion.Domain;
using Beacon.Ingestion.Governance;
using Beacon.Messaging;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Storage;

/// <summary>
/// Ingestion's store. The outbox table doubles as the append-only log of accepted events: rows are
/// never deleted, so any time range can be replayed to rebuild a downstream projection.
/// </summary>
public sealed class IngestionDbContext(DbContextOptions<IngestionDbContext> options) : DbContext(options)
{
    public DbSet<School> Schools => Set<School>();
    public DbSet<StaffMember> Staff => Set<StaffMember>();
    public DbSet<Student> Students => Set<Student>();
    public DbSet<AttendanceRecord> Attendance => Set<AttendanceRecord>();
    public DbSet<ItemResponse> ItemResponses => Set<ItemResponse>();
    public DbSet<GradeRecord> Grades => Set<GradeRecord>();
    public DbSet<BehaviorIncident> BehaviorIncidents => Set<BehaviorIncident>();
    public DbSet<LmsActivity> LmsActivities => Set<LmsActivity>();
    public DbSet<Section> Sections => Set<Section>();
    public DbSet<SectionEnrollment> SectionEnrollments => Set<SectionEnrollment>();
    public DbSet<StudentDemographics> Demographics => Set<StudentDemographics>();
    public DbSet<StudentContact> StudentContacts => Set<StudentContact>();
    public DbSet<AcademicSession> AcademicSessions => Set<AcademicSession>();
    public DbSet<CalendarEntry> CalendarEntries => Set<CalendarEntry>();
    public DbSet<XapiStatement> XapiStatements => Set<XapiStatement>();
    public DbSet<StudentIdentifier> StudentIdentifiers => Set<StudentIdentifier>();
    public DbSet<CatalogItem> CatalogItems => Set<CatalogItem>();
    public DbSet<IngestionBatch> Batches => Set<IngestionBatch>();
    public DbSet<QuarantinedRow> Quarantine => Set<QuarantinedRow>();
    public DbSet<ErasureRequest> ErasureRequests => Set<ErasureRequest>();
    public DbSet<ErasureConfirmation> ErasureConfirmations => Set<ErasureConfirmation>();
    public DbSet<RosterConnectorState> RosterConnectors => Set<RosterConnectorState>();
    public DbSet<XapiCredential> XapiCredentials => Set<XapiCredential>();
    public DbSet<OneRosterRecordVersion> OneRosterVersions => Set<OneRosterRecordVersion>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<School>().HasKey(s => s.SchoolId);
        modelBuilder.Entity<StaffMember>(e =>
        {
            e.HasKey(s => s.StaffId);
            e.HasIndex(s => new { s.SchoolId, s.Role });
        });
        modelBuilder.Entity<Student>(e =>
        {
            e.HasKey(s => s.StudentId);
            e.HasIndex(s => s.SchoolId);
            // A database made before withdrawal existed gets the column with every student active.
            e.Property(s => s.Status).HasDefaultValue(StudentStatuses.Active);
            // A database made before search gets the column empty; StudentSearchBackfill fills it at start.
            e.Property(s => s.SearchKey).HasDefaultValue("");
        });
        modelBuilder.Entity<Section>().HasKey(s => s.SectionId);
        modelBuilder.Entity<SectionEnrollment>(e =>
        {
            e.HasKey(x => new { x.SectionId, x.PersonId });
            e.HasIndex(x => x.PersonId);
        });
        modelBuilder.Entity<StudentDemographics>().HasKey(d => d.StudentId);
        modelBuilder.Entity<AttendanceRecord>().HasKey(a => new { a.StudentId, a.Date, a.Period });
        modelBuilder.Entity<ItemResponse>().HasKey(r => new { r.StudentId, r.ItemId, r.AttemptNumber });
        modelBuilder.Entity<GradeRecord>().HasKey(g => new { g.StudentId, g.CourseId, g.Term });
        modelBuilder.Entity<BehaviorIncident>(e =>
        {
            e.HasKey(b => b.IncidentId);
            e.HasIndex(b => b.StudentId);
        });
        modelBuilder.Entity<LmsActivity>(e =>
        {
            e.HasKey(a => a.StatementId);
            e.HasIndex(a => a.StudentId);
        });
        modelBuilder.Entity<StudentContact>(e =>
        {
            e.HasKey(c => new { c.StudentId, c.ContactId });
            e.HasIndex(c => c.ContactId);
        });
        modelBuilder.Entity<AcademicSession>().HasKey(s => s.SessionId);
        modelBuilder.Entity<CalendarEntry>().HasKey(c => new { c.SchoolId, c.SchoolYear, c.Type, c.StartDate });
        modelBuilder.Entity<XapiStatement>(e =>
        {
            e.HasKey(s => s.StatementId);
            e.HasIndex(s => s.VoidsStatementId);
            e.HasIndex(s => new { s.BatchId, s.Use });
            e.HasIndex(s => s.StudentId);
            e.HasIndex(s => new { s.StoredAtMs, s.StatementId });
            e.HasIndex(s => s.ActorKey);
        });
        modelBuilder.Entity<StudentIdentifier>(e =>
        {
            e.HasKey(i => new { i.Kind, i.Value });
            e.HasIndex(i => i.Value);
            e.HasIndex(i => i.StudentId);
        });
        modelBuilder.Entity<CatalogItem>().HasKey(c => c.ActivityId);
        modelBuilder.Entity<IngestionBatch>(e =>
        {
            e.HasKey(b => b.BatchId);
            e.HasIndex(b => new { b.Day, b.Source, b.Kind });
        });
        modelBuilder.Entity<QuarantinedRow>(e =>
        {
            e.HasKey(q => q.Id);
            e.Property(q => q.Id).ValueGeneratedOnAdd();
            e.HasIndex(q => new { q.Status, q.Kind });
        });
        modelBuilder.Entity<ErasureRequest>(e =>
        {
            e.HasKey(r => r.RequestId);
            e.HasIndex(r => r.StudentId);
        });
        modelBuilder.Entity<ErasureConfirmation>().HasKey(c => new { c.RequestId, c.Service });
        modelBuilder.Entity<RosterConnectorState>().HasKey(c => c.Connector);
        modelBuilder.Entity<XapiCredential>().HasKey(c => c.Key);
        modelBuilder.Entity<OneRosterRecordVersion>(e =>
        {
            e.HasKey(v => new { v.Collection, v.SourcedId });
            e.HasIndex(v => v.SourcedId);
        });
        modelBuilder.AddErasedStudents();
        modelBuilder.AddScheduledJobs();
        modelBuilder.AddOutbox();
    }
}
