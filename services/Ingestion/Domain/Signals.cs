namespace Beacon.Ingestion.Domain;

/// <summary>
/// One student's attendance on one school day, or one period of it; (StudentId, Date, Period) is the
/// natural key and Period is "" for a daily record.
/// </summary>
public sealed class AttendanceRecord
{
    public required string StudentId { get; set; }
    public required DateOnly Date { get; set; }
    public string Period { get; set; } = "";
    public required string Status { get; set; }
    public required string SchoolId { get; set; }
    public DateTimeOffset RecordedAt { get; set; }
}

public static class AttendanceStatuses
{
    public const string Present = "present";
    public const string Absent = "absent";
    public const string Tardy = "tardy";
    public const string ExcusedAbsent = "excused-absent";
    public static readonly IReadOnlySet<string> All = new HashSet<string> { Present, Absent, Tardy, ExcusedAbsent };
}

/// <summary>One answer to one item; (StudentId, ItemId, AttemptNumber) is the natural key.</summary>
public sealed class ItemResponse
{
    public required string StudentId { get; set; }
    public required string ItemId { get; set; }
    public required int AttemptNumber { get; set; }
    public required string SkillIds { get; set; }   // comma-separated
    public bool Correct { get; set; }
    public int HintsUsed { get; set; }
    public double TimeOnTaskSeconds { get; set; }
    public DateTimeOffset AnsweredAt { get; set; }
}

/// <summary>A course mark for a term; (StudentId, CourseId, Term) is the natural key.</summary>
public sealed class GradeRecord
{
    public required string StudentId { get; set; }
    public required string CourseId { get; set; }
    public required string Term { get; set; }
    public double MarkPercent { get; set; }
    public DateOnly Date { get; set; }
    public DateTimeOffset RecordedAt { get; set; }
}

/// <summary>A behaviour incident, keyed by the district's incident id.</summary>
public sealed class BehaviorIncident
{
    public required string IncidentId { get; set; }
    public required string StudentId { get; set; }
    public DateOnly Date { get; set; }
    public required string Category { get; set; }
    public required string Severity { get; set; }
    public DateTimeOffset RecordedAt { get; set; }
}

public static class BehaviorCategories
{
    /// <summary>
    /// What happened, and the three removals a SIS often records as the incident's category instead (Early warning's
    /// behaviour indicator counts those like a suspension, after EWIMS).
    /// </summary>
    public static readonly IReadOnlySet<string> All = new HashSet<string>
    {
        "disruption", "defiance", "fighting", "bullying", "harassment", "truancy", "substance", "weapon", "vandalism", "other",
        "in-school-suspension", "out-of-school-suspension", "expulsion",
    };
}

public static class BehaviorSeverities
{
    public static readonly IReadOnlySet<string> All = new HashSet<string> { "minor", "moderate", "major" };
}

/// <summary>An LMS statement mapped from xAPI that is not an item response (completed, experienced).</summary>
public sealed class LmsActivity
{
    public required string StatementId { get; set; }
    public required string StudentId { get; set; }
    public required string Verb { get; set; }
    public required string ObjectId { get; set; }
    public double DurationSeconds { get; set; }
    public DateTimeOffset Timestamp { get; set; }
}

/// <summary>
/// One line of a school calendar: a school year's first and last day (Type school-year), or a span of non-instructional
/// days in it (Type non-instructional: a holiday, a break, a teacher day). SchoolId "" is the district-wide calendar;
/// a school's own lines add to it (its own school-year line replaces the district's first and last day).
/// (SchoolId, SchoolYear, Type, StartDate) is the natural key; a school year has one school-year line.
/// </summary>
public sealed class CalendarEntry
{
    public string SchoolId { get; set; } = "";
    public required string SchoolYear { get; set; }
    public required string Type { get; set; }
    public DateOnly StartDate { get; set; }
    public DateOnly EndDate { get; set; }
    public string Description { get; set; } = "";
    /// <summary>Where it came from: a calendar upload or a OneRoster academic session (its sourcedId).</summary>
    public string Source { get; set; } = "";
    public DateTimeOffset RecordedAt { get; set; }
}

public static class CalendarEntryTypes
{
    public const string SchoolYear = "school-year";
    public const string NonInstructional = "non-instructional";
    public static readonly IReadOnlySet<string> All = new HashSet<string> { SchoolYear, NonInstructional };
}
