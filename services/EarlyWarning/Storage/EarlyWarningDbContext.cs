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

/// <summary>One registered model version: its file, threshold, data and held-out metrics (the model card).</summary>
public sealed class ModelVersionRecord
{
    public Guid ModelId { get; set; }
    public required string Kind { get; set; }
    public int Version { get; set; }
    public required string Algorithm { get; set; }
    /// <summary>candidate | active | retired; at most one active per kind.</summary>
    public required string Status { get; set; }
    public double Threshold { get; set; }
    public required string DataSource { get; set; }
    public DateTimeOffset TrainedAt { get; set; }
    public DateTimeOffset? ActivatedAt { get; set; }
    /// <summary>Relative to the models directory (Beacon:DataDirectory/models).</summary>
    public required string FileName { get; set; }
    /// <summary>The full card (features, split, every scorer's held-out report) as JSON.</summary>
    public required string CardJson { get; set; }
}

/// <summary>A student's latest model score per kind; remembers whether they are flagged, for hysteresis.</summary>
public sealed class StudentRiskScore
{
    public required string StudentId { get; set; }
    public required string Kind { get; set; }
    public required string SchoolId { get; set; }
    public double Score { get; set; }
    public required string Band { get; set; }
    public bool Flagged { get; set; }
    public int Crossings { get; set; }
    public Guid ModelId { get; set; }
    public int ModelVersion { get; set; }
    public double Threshold { get; set; }
    /// <summary>Top factors (text, direction, contribution) as JSON.</summary>
    public required string FactorsJson { get; set; }
    public DateTimeOffset ScoredAt { get; set; }
}

/// <summary>A district's threshold for one model version, chosen on the model's calibration slice to a target.</summary>
public sealed class DistrictThreshold
{
    public Guid ModelId { get; set; }
    public required string DistrictId { get; set; }
    /// <summary>flag-top-share | min-precision</summary>
    public required string Target { get; set; }
    public double TargetValue { get; set; }
    public double Threshold { get; set; }
    public required string Rule { get; set; }
    /// <summary>What the threshold gives on the calibration slice (not the held-out test set).</summary>
    public double CalibrationPrecision { get; set; }
    public double CalibrationFlaggedShare { get; set; }
    public DateTimeOffset SetAt { get; set; }
}

public sealed class EarlyWarningDbContext(DbContextOptions<EarlyWarningDbContext> options) : DbContext(options)
{
    public DbSet<AttendanceDay> AttendanceDays => Set<AttendanceDay>();
    public DbSet<StudentRiskState> RiskStates => Set<StudentRiskState>();
    public DbSet<RiskAlert> Alerts => Set<RiskAlert>();
    public DbSet<ModelVersionRecord> Models => Set<ModelVersionRecord>();
    public DbSet<StudentRiskScore> RiskScores => Set<StudentRiskScore>();
    public DbSet<DistrictThreshold> DistrictThresholds => Set<DistrictThreshold>();

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
        modelBuilder.Entity<ModelVersionRecord>(e =>
        {
            e.HasKey(m => m.ModelId);
            e.HasIndex(m => new { m.Kind, m.Version }).IsUnique();
        });
        modelBuilder.Entity<StudentRiskScore>().HasKey(s => new { s.StudentId, s.Kind });
        modelBuilder.Entity<DistrictThreshold>().HasKey(t => new { t.ModelId, t.DistrictId });
        modelBuilder.AddOutbox();
    }
}
