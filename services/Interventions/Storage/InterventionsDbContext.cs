using Beacon.Governance;
using Beacon.Interventions.Domain;
using Beacon.Messaging;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Interventions.Storage;

/// <summary>Interventions' projection of attendance (from AttendanceRecorded), used to measure effects.</summary>
public sealed class AttendanceDay
{
    public required string StudentId { get; set; }
    public DateOnly Date { get; set; }
    public required string SchoolId { get; set; }
    public required string Status { get; set; }

    /// <summary>Present or tardy: the student was in school.</summary>
    public bool Attended { get; set; }
}

/// <summary>
/// One student's risk score of one kind on one day, as Early warning scored it (RiskScoresChanged): the newest score of
/// the day wins. One point a day is all the risk-score effect needs (a score at a case's start and at its window's end),
/// and keeps the history compact however often Early warning re-scores.
/// </summary>
public sealed class RiskScoreDay
{
    public required string StudentId { get; set; }
    public required string Kind { get; set; }
    public DateOnly Day { get; set; }
    public required string SchoolId { get; set; }
    public double Score { get; set; }
    public DateTimeOffset ScoredAt { get; set; }
}

public sealed class InterventionsDbContext(DbContextOptions<InterventionsDbContext> options) : DbContext(options)
{
    public DbSet<InterventionCase> Cases => Set<InterventionCase>();
    public DbSet<CaseAlert> CaseAlerts => Set<CaseAlert>();
    public DbSet<CaseActivity> Activity => Set<CaseActivity>();
    public DbSet<AttendanceDay> Attendance => Set<AttendanceDay>();
    public DbSet<GroupIntervention> Groups => Set<GroupIntervention>();
    public DbSet<GroupMember> GroupMembers => Set<GroupMember>();
    public DbSet<GroupActivity> GroupActivity => Set<GroupActivity>();
    public DbSet<SectionRoster> Sections => Set<SectionRoster>();
    public DbSet<SectionRosterMember> SectionPeople => Set<SectionRosterMember>();
    public DbSet<StudentSubgroups> Subgroups => Set<StudentSubgroups>();
    public DbSet<FamilyContact> FamilyContacts => Set<FamilyContact>();
    public DbSet<ChangeTest> ChangeTests => Set<ChangeTest>();
    public DbSet<ChangeTestArm> ChangeTestArms => Set<ChangeTestArm>();
    public DbSet<ChangeTestAssignment> ChangeTestAssignments => Set<ChangeTestAssignment>();
    public DbSet<StudentRiskBand> RiskBands => Set<StudentRiskBand>();
    public DbSet<RiskScoreDay> RiskScoreDays => Set<RiskScoreDay>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<InterventionCase>(e =>
        {
            e.HasKey(c => c.CaseId);
            e.HasIndex(c => new { c.StudentId, c.Status });
            e.HasIndex(c => new { c.AssignedTo, c.Status });
            e.HasMany(c => c.Alerts).WithOne().HasForeignKey(a => a.CaseId);
            e.HasMany(c => c.Activity).WithOne().HasForeignKey(a => a.CaseId);
            e.OwnsOne(c => c.Plan);
            e.Ignore(c => c.HelperIds);
        });
        modelBuilder.Entity<CaseAlert>().HasKey(a => a.AlertId);
        modelBuilder.Entity<CaseActivity>(e =>
        {
            e.HasKey(a => a.Id);
            e.Property(a => a.Id).ValueGeneratedOnAdd();
        });
        modelBuilder.Entity<AttendanceDay>(e =>
        {
            e.HasKey(a => new { a.StudentId, a.Date });
            e.HasIndex(a => new { a.SchoolId, a.Date });
        });
        modelBuilder.Entity<GroupIntervention>(e =>
        {
            e.HasKey(g => g.GroupId);
            e.HasIndex(g => g.SectionId);
            e.HasMany(g => g.Students).WithOne().HasForeignKey(m => m.GroupId);
            e.HasMany(g => g.Activity).WithOne().HasForeignKey(a => a.GroupId);
        });
        modelBuilder.Entity<GroupMember>(e =>
        {
            e.HasKey(m => new { m.GroupId, m.StudentId });
            e.HasIndex(m => m.StudentId);
        });
        modelBuilder.Entity<GroupActivity>(e =>
        {
            e.HasKey(a => a.Id);
            e.Property(a => a.Id).ValueGeneratedOnAdd();
        });
        modelBuilder.AddSectionRosters();
        modelBuilder.Entity<StudentSubgroups>().HasKey(s => s.StudentId);
        modelBuilder.Entity<FamilyContact>().HasKey(c => new { c.StudentId, c.ContactId });
        modelBuilder.Entity<ChangeTest>(e =>
        {
            e.HasKey(t => t.TestId);
            e.HasMany(t => t.Arms).WithOne().HasForeignKey(a => a.TestId);
            e.HasMany(t => t.Assignments).WithOne().HasForeignKey(a => a.TestId);
            e.Ignore(t => t.Schools);
            e.Ignore(t => t.MeasurableFrom);
        });
        modelBuilder.Entity<ChangeTestArm>().HasKey(a => new { a.TestId, a.Index });
        modelBuilder.Entity<ChangeTestAssignment>(e =>
        {
            e.HasKey(a => new { a.TestId, a.StudentId });
            e.HasIndex(a => a.StudentId);
            e.HasIndex(a => a.CaseId);
        });
        modelBuilder.Entity<StudentRiskBand>().HasKey(b => new { b.StudentId, b.Kind });
        modelBuilder.Entity<RiskScoreDay>(e =>
        {
            e.HasKey(p => new { p.StudentId, p.Kind, p.Day });
            e.HasIndex(p => new { p.SchoolId, p.Day });
        });
        modelBuilder.AddErasedStudents();
        modelBuilder.AddOutbox();
        modelBuilder.AddScheduledJobs();
        modelBuilder.AddInbox();
    }
}
