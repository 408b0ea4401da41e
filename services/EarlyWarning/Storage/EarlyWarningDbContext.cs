using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Scoring;
using Beacon.Governance;
using Beacon.Messaging;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Beacon.EarlyWarning.Storage;

/// <summary>Early warning's own projection of attendance, built from AttendanceRecorded events.</summary>
public sealed class AttendanceDay
{
    public required string StudentId { get; set; }
    public required DateOnly Date { get; set; }
    public required string Status { get; set; }
}

/// <summary>
/// Every status a school day has had, with when it arrived (the event's OccurredAt): the projection keeps only the latest,
/// while a training set must see a day as it was known at its scoring point (a later correction is not used before then).
/// </summary>
public sealed class AttendanceVersion
{
    public long Sequence { get; set; }
    public required string StudentId { get; set; }
    public DateOnly Date { get; set; }
    public required string Status { get; set; }
    public DateTimeOffset KnownFrom { get; set; }
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
    /// <summary>The school year the state is counted in (null without a calendar); a new year starts the indicator afresh.</summary>
    public string? SchoolYear { get; set; }
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
    /// <summary>The model version that raised it; null for the rule indicator's alerts.</summary>
    public Guid? ModelId { get; set; }
    public int? ModelVersion { get; set; }
    /// <summary>The signal whose unit of work raised it (MasteryChanged, GradeRecorded, ...); null for a re-score.</summary>
    public string? RaisedBy { get; set; }
    /// <summary>When that signal's oldest message about the student was sent: RaisedAt minus this is how long it waited.</summary>
    public DateTimeOffset? SignalSentAt { get; set; }
}

/// <summary>One registered model version: its file, threshold, data and held-out metrics (the model card).</summary>
public sealed class ModelVersionRecord
{
    /// <summary>The promotion gate's verdict for a version trained from the district's history (JSON; null otherwise).</summary>
    public string? GateJson { get; set; }

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
    /// <summary>The artifact's name (the bytes are in ModelArtifacts; older versions' files were kept under this name).</summary>
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
    /// <summary>The school's capacity line at this scoring, when the district caps the share flagged (<see cref="Scoring.SchoolCapacity"/>).</summary>
    public double? CapacityLine { get; set; }
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

/// <summary>A student's last score in a week (weeks start on Monday): the history the weekly report and outcome labels join.</summary>
public sealed class ScoreSnapshot
{
    public required string StudentId { get; set; }
    public required string Kind { get; set; }
    public DateOnly WeekStart { get; set; }
    public required string SchoolId { get; set; }
    public Guid ModelId { get; set; }
    public int ModelVersion { get; set; }
    public double Score { get; set; }
    public bool Flagged { get; set; }
    public double Threshold { get; set; }
    public DateTimeOffset ScoredAt { get; set; }
    /// <summary>Scored after the fact by a monitoring backfill (as of the week's last school day), not live.</summary>
    public bool Backfilled { get; set; }
}

/// <summary>One drift comparison (a model, a reference, a window ending on AsOf); its measures are rows of <see cref="DriftMeasurement"/>.</summary>
public sealed class DriftRun
{
    public Guid RunId { get; set; }
    public required string Kind { get; set; }
    public Guid ModelId { get; set; }
    public int ModelVersion { get; set; }
    /// <summary>training | baseline</summary>
    public required string Reference { get; set; }
    public DateOnly AsOf { get; set; }
    /// <summary>scheduled | on-demand</summary>
    public required string Trigger { get; set; }
    public int Students { get; set; }
    public int ReferenceRows { get; set; }
    public double ScorePsi { get; set; }
    public required string ScoreBand { get; set; }
    public required string WorstBand { get; set; }
    /// <summary>Whether this run published ModelDriftDetected.</summary>
    public bool Alerted { get; set; }
    public DateTimeOffset RanAt { get; set; }

    /// <summary>Training runs: the points of the year the compared students were served at ("school days 55–62", middle 80 %).</summary>
    public string? ServedPoints { get; set; }

    /// <summary>Training runs: the points the compared training rows were cut at, or null when the card kept none.</summary>
    public string? ReferencePoints { get; set; }

    /// <summary>Training runs: whether the model has training rows at the served points (else it was compared with all of them).</summary>
    public bool? SamePoints { get; set; }

    /// <summary>Why nothing was measured (a week without school served nobody), or null for a run with measures.</summary>
    public string? Note { get; set; }

    /// <summary>Computed after the fact for a past day by a monitoring backfill (<see cref="BackfillId"/>), not by that day's check.</summary>
    public bool Backfilled { get; set; }

    public Guid? BackfillId { get; set; }
}

public sealed class DriftMeasurement
{
    public Guid RunId { get; set; }
    public required string Measure { get; set; }
    public double Psi { get; set; }
    public required string Band { get; set; }
    public double KolmogorovSmirnov { get; set; }
    public double KsPValue { get; set; }
    public double Wasserstein { get; set; }
    public double ReferenceMissingRate { get; set; }
    public double CurrentMissingRate { get; set; }
}

/// <summary>The live window a model's later windows are compared with, pinned at its first monitored window (or re-pinned by ops).</summary>
public sealed class DriftBaseline
{
    public Guid ModelId { get; set; }
    public DateOnly AsOf { get; set; }
    public int Students { get; set; }
    public DateTimeOffset PinnedAt { get; set; }
    /// <summary>The window's inputs and scores (a DriftReference) as JSON.</summary>
    public required string SampleJson { get; set; }
}

/// <summary>What turned out to be true for a student (finished the year, ended the term under 10 % absence, withdrew...).</summary>
public sealed class OutcomeLabel
{
    public required string StudentId { get; set; }
    public required string Kind { get; set; }
    public required string Outcome { get; set; }
    /// <summary>The truth the model predicts: true = the risk happened.</summary>
    public bool AtRisk { get; set; }
    /// <summary>Scores from weeks before this day are judged against the outcome.</summary>
    public DateOnly KnownOn { get; set; }
    public DateTimeOffset RecordedAt { get; set; }
    /// <summary>"derived" when the year-end derivation wrote it; null when posted by hand (a correction, never overwritten).</summary>
    public string? Source { get; set; }
}

/// <summary>A counselor's (or a closed case's) word that an alert was a false alarm; kept apart from true outcomes.</summary>
public sealed class AlertFeedback
{
    public Guid FeedbackId { get; set; }
    public Guid AlertId { get; set; }
    public required string StudentId { get; set; }
    public required string AlertKind { get; set; }
    public int? ModelVersion { get; set; }
    /// <summary>not-at-risk | false-alarm</summary>
    public required string Verdict { get; set; }
    public required string Reason { get; set; }
    public required string GivenBy { get; set; }
    /// <summary>counselor | intervention-case</summary>
    public required string Source { get; set; }
    public DateTimeOffset RecordedAt { get; set; }
}

/// <summary>Roster demographics (from StudentDemographicsRecorded), only for subgroup figures.</summary>
public sealed class StudentDemographics
{
    public required string StudentId { get; set; }
    public string? Sex { get; set; }
    public string? RaceEthnicity { get; set; }
    public bool? EconomicallyDisadvantaged { get; set; }
    public bool? EnglishLearner { get; set; }
    public bool? Disability { get; set; }
}

/// <summary>A training job started by the retraining policy; its result is a candidate (the challenger), never promoted by it.</summary>
public sealed class RetrainingJob
{
    public Guid JobId { get; set; }
    public required string Kind { get; set; }
    public required string Reason { get; set; }
    /// <summary>running | succeeded | failed</summary>
    public required string Status { get; set; }
    public DateTimeOffset StartedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    public Guid? ChallengerModelId { get; set; }
    public string? Error { get; set; }
}

public sealed class EarlyWarningDbContext(DbContextOptions<EarlyWarningDbContext> options) : DbContext(options)
{
    public DbSet<AttendanceDay> AttendanceDays => Set<AttendanceDay>();
    public DbSet<AttendanceVersion> AttendanceVersions => Set<AttendanceVersion>();
    public DbSet<AttendancePack> AttendancePacks => Set<AttendancePack>();
    public DbSet<StudentRiskState> RiskStates => Set<StudentRiskState>();
    public DbSet<RiskAlert> Alerts => Set<RiskAlert>();
    public DbSet<ModelVersionRecord> Models => Set<ModelVersionRecord>();
    public DbSet<ModelArtifact> ModelArtifacts => Set<ModelArtifact>();
    public DbSet<StudentRiskScore> RiskScores => Set<StudentRiskScore>();
    public DbSet<DistrictThreshold> DistrictThresholds => Set<DistrictThreshold>();
    public DbSet<ScoreSnapshot> ScoreSnapshots => Set<ScoreSnapshot>();
    public DbSet<DriftRun> DriftRuns => Set<DriftRun>();
    public DbSet<DriftMeasurement> DriftMeasurements => Set<DriftMeasurement>();
    public DbSet<DriftBaseline> DriftBaselines => Set<DriftBaseline>();
    public DbSet<OutcomeLabel> Outcomes => Set<OutcomeLabel>();
    public DbSet<AlertFeedback> Feedback => Set<AlertFeedback>();
    public DbSet<StudentDemographics> Demographics => Set<StudentDemographics>();
    public DbSet<RetrainingJob> RetrainingJobs => Set<RetrainingJob>();
    public DbSet<CourseMarkRow> CourseMarks => Set<CourseMarkRow>();
    public DbSet<BehaviorIncidentRow> BehaviorIncidents => Set<BehaviorIncidentRow>();
    public DbSet<LmsActivityRow> LmsActivity => Set<LmsActivityRow>();
    public DbSet<SkillMasteryRow> SkillMastery => Set<SkillMasteryRow>();
    public DbSet<IndicatorStateRow> IndicatorStates => Set<IndicatorStateRow>();
    public DbSet<CalendarYearRow> CalendarYears => Set<CalendarYearRow>();
    public DbSet<SchoolAttendanceThrough> AttendanceThrough => Set<SchoolAttendanceThrough>();
    public DbSet<Monitoring.StudentExitRow> StudentExits => Set<Monitoring.StudentExitRow>();
    public DbSet<Monitoring.YearOutcomeRow> YearOutcomes => Set<Monitoring.YearOutcomeRow>();
    public DbSet<Monitoring.OutcomeDerivation> OutcomeDerivations => Set<Monitoring.OutcomeDerivation>();
    public DbSet<Monitoring.MonitoringBackfillRow> MonitoringBackfills => Set<Monitoring.MonitoringBackfillRow>();
    public DbSet<StudentRosterRow> Roster => Set<StudentRosterRow>();
    public DbSet<ResearchExtractRow> ResearchExtracts => Set<ResearchExtractRow>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<AttendanceDay>().HasKey(d => new { d.StudentId, d.Date });
        modelBuilder.Entity<AttendancePack>(e =>
        {
            e.HasKey(p => p.StudentId);
            e.HasIndex(p => p.FirstDate);
            // Retention's trim and the attendance consumer may rewrite one pack at once: the later save fails and retries on
            // what the other wrote, instead of putting back days it never saw.
            e.Property(p => p.Days).IsConcurrencyToken();
        });
        modelBuilder.Entity<AttendanceVersion>(e =>
        {
            e.HasKey(v => v.Sequence);
            e.Property(v => v.Sequence).ValueGeneratedOnAdd();
            e.HasIndex(v => new { v.StudentId, v.Date });
        });
        modelBuilder.Entity<StudentRiskState>().HasKey(s => s.StudentId);
        modelBuilder.Entity<CourseMarkRow>().HasKey(m => new { m.StudentId, m.CourseId, m.Term });
        modelBuilder.Entity<BehaviorIncidentRow>(e =>
        {
            e.HasKey(i => i.IncidentId);
            e.HasIndex(i => i.StudentId);
        });
        modelBuilder.Entity<LmsActivityRow>(e =>
        {
            e.HasKey(a => a.StatementId);
            e.HasIndex(a => a.StudentId);
            e.Property(a => a.Voided).HasDefaultValue(false);
        });
        modelBuilder.Entity<SkillMasteryRow>().HasKey(m => new { m.StudentId, m.SkillId });
        modelBuilder.Entity<IndicatorStateRow>().HasKey(s => new { s.StudentId, s.Kind });
        modelBuilder.Entity<CalendarYearRow>().HasKey(c => new { c.Scope, c.SchoolYear });
        modelBuilder.Entity<SchoolAttendanceThrough>(e =>
        {
            e.HasKey(t => t.SchoolId);
            e.Property(t => t.SendsPresentDays).HasDefaultValue(false);
            e.Ignore(t => t.Report);
        });
        modelBuilder.Entity<Monitoring.StudentExitRow>().HasKey(e => e.StudentId);
        modelBuilder.Entity<Monitoring.YearOutcomeRow>(e =>
        {
            e.HasKey(o => new { o.StudentId, o.Kind, o.SchoolYear });
            e.HasIndex(o => new { o.Kind, o.SchoolYear });
        });
        modelBuilder.Entity<Monitoring.OutcomeDerivation>().HasKey(d => d.SchoolYear);
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
        modelBuilder.Entity<ScoreSnapshot>(e =>
        {
            e.HasKey(s => new { s.StudentId, s.Kind, s.WeekStart });
            e.HasIndex(s => new { s.Kind, s.WeekStart });
            // Written by every upsert (InsertOrUpdateAsync skips generated columns); the default only fills rows stored before the column.
            e.Property(s => s.Backfilled).HasDefaultValue(false).ValueGeneratedNever();
        });
        modelBuilder.Entity<DriftRun>(e =>
        {
            e.HasKey(r => r.RunId);
            e.HasIndex(r => new { r.Kind, r.AsOf });
            e.Property(r => r.Backfilled).HasDefaultValue(false).ValueGeneratedNever();
        });
        modelBuilder.Entity<Monitoring.MonitoringBackfillRow>().HasKey(b => b.BackfillId);
        modelBuilder.Entity<DriftMeasurement>().HasKey(m => new { m.RunId, m.Measure });
        modelBuilder.Entity<DriftBaseline>().HasKey(b => b.ModelId);
        modelBuilder.Entity<OutcomeLabel>().HasKey(o => new { o.StudentId, o.Kind });
        modelBuilder.Entity<AlertFeedback>(e =>
        {
            e.HasKey(f => f.FeedbackId);
            e.HasIndex(f => new { f.AlertId, f.Source, f.GivenBy }).IsUnique();
        });
        modelBuilder.Entity<StudentDemographics>().HasKey(d => d.StudentId);
        modelBuilder.Entity<StudentRosterRow>().HasKey(r => r.StudentId);
        modelBuilder.Entity<ResearchExtractRow>().HasKey(r => r.ExtractId);
        modelBuilder.Entity<RetrainingJob>().HasKey(j => j.JobId);
        modelBuilder.Entity<ModelArtifact>().HasKey(a => a.ModelId);
        modelBuilder.AddErasedStudents();
        modelBuilder.AddOutbox();
        modelBuilder.AddScheduledJobs();
        modelBuilder.AddInbox();
    }
}
