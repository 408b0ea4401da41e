namespace Beacon.EarlyWarning.Storage;

// Early warning's projections of the non-attendance signals, one row per natural key so a redelivered or
// re-sent event changes nothing. Where a key can carry two versions (a correction), the later one by
// (Date, OccurredAt) wins whatever order they arrive in.

/// <summary>A course mark for a term: the latest mark the SIS sent for (student, course, term).</summary>
public sealed class CourseMarkRow
{
    public required string StudentId { get; set; }
    public required string CourseId { get; set; }
    public required string Term { get; set; }
    public required string SchoolId { get; set; }
    public double MarkPercent { get; set; }
    public DateOnly Date { get; set; }
    public DateTimeOffset OccurredAt { get; set; }
}

/// <summary>A behaviour incident, by its id; a correction replaces the row.</summary>
public sealed class BehaviorIncidentRow
{
    public required string IncidentId { get; set; }
    public required string StudentId { get; set; }
    public required string SchoolId { get; set; }
    public DateOnly Date { get; set; }
    public required string Category { get; set; }
    public required string Severity { get; set; }
    public DateTimeOffset OccurredAt { get; set; }
}

/// <summary>An LMS activity statement (xAPI completed/experienced), by statement id.</summary>
public sealed class LmsActivityRow
{
    public required string StatementId { get; set; }
    public required string StudentId { get; set; }
    public required string Verb { get; set; }
    public required string ObjectId { get; set; }
    public double DurationSeconds { get; set; }
    public DateTimeOffset Timestamp { get; set; }

    /// <summary>The statement was voided: it no longer counts, and stays as a tombstone so a late copy is not counted either.</summary>
    public bool Voided { get; set; }
}

/// <summary>Mastery's latest estimate of a student's skill, as published in MasteryChanged.</summary>
public sealed class SkillMasteryRow
{
    public required string StudentId { get; set; }
    public required string SkillId { get; set; }
    public double ProbabilityMastered { get; set; }
    public bool Mastered { get; set; }
    public int Attempts { get; set; }
    public DateTimeOffset OccurredAt { get; set; }
}

/// <summary>
/// Where a student stands on the behaviour or course-performance indicator (chronic absence keeps its own
/// <see cref="StudentRiskState"/>): flagged now, how many times they crossed in, and the reading behind it.
/// </summary>
public sealed class IndicatorStateRow
{
    public required string StudentId { get; set; }
    public required string Kind { get; set; }
    public required string SchoolId { get; set; }
    public bool Flagged { get; set; }
    public int Crossings { get; set; }
    public double Score { get; set; }
    public required string Explanation { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}
