using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;

namespace Beacon.EarlyWarning.Storage;

/// <summary>Early warning's own projection of attendance, built from AttendanceRecorded events.</summary>
public sealed class AttendanceDay
{
    public required string StudentId { get; set; }
    public required DateOnly Date { get; set; }
    public required string Status { get; set; }
}

/// <summary>Where each student stands on the indicator; remembers the state so crossings can be detected.</summary>
public sealed class StudentRiskState
{
    public required string StudentId { get; set; }
    public required string SchoolId { get; set; }
    public int DaysEnrolled { get; set; }
    public int DaysAbsent { get; set; }
    public bool ChronicallyAbsent { get; set; }
    public int Crossings { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

public sealed class RiskAlert
{
    public Guid AlertId { get; set; }
    public required string StudentId { get; set; }
    public required string SchoolId { get; set; }
    public required string Kind { get; set; }
    /// <summary>Which crossing this alert belongs to; unique per student and kind, so a race cannot raise it twice.</summary>
    public int Crossing { get; set; }
    public required string Reason { get; set; }
    public double Score { get; set; }
    public DateTimeOffset RaisedAt { get; set; }
}

public sealed class EarlyWarningDbContext(DbContextOptions<EarlyWarningDbContext> options) : DbContext(options)
{
    public DbSet<AttendanceDay> AttendanceDays => Set<AttendanceDay>();
    public DbSet<StudentRiskState> RiskStates => Set<StudentRiskState>();
    public DbSet<RiskAlert> Alerts => Set<RiskAlert>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<AttendanceDay>().HasKey(d => new { d.StudentId, d.Date });
        modelBuilder.Entity<StudentRiskState>().HasKey(s => s.StudentId);
        modelBuilder.Entity<RiskAlert>(e =>
        {
            e.HasKey(a => a.AlertId);
            e.HasIndex(a => new { a.StudentId, a.Kind, a.Crossing }).IsUnique();
            e.HasIndex(a => a.SchoolId);
        });
        modelBuilder.AddOutbox();
    }
}
