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

public sealed class InterventionsDbContext(DbContextOptions<InterventionsDbContext> options) : DbContext(options)
{
    public DbSet<InterventionCase> Cases => Set<InterventionCase>();
    public DbSet<CaseAlert> CaseAlerts => Set<CaseAlert>();
    public DbSet<CaseActivity> Activity => Set<CaseActivity>();
    public DbSet<AttendanceDay> Attendance => Set<AttendanceDay>();

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
        modelBuilder.AddErasedStudents();
        modelBuilder.AddOutbox();
        modelBuilder.AddScheduledJobs();
        modelBuilder.AddInbox();
    }
}
