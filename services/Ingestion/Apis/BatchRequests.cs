using System.Text.Json.Serialization;
using Beacon.Ingestion.Intake;
namespace Beacon.Ingestion.Apis;

// Batch bodies use strings for dates and enumerations so that one bad value rejects one row with a
// clear reason instead of failing the whole document at deserialisation. The signal rows are also the
// columns of the CSV uploads (header names match the property names, case-insensitive); they have
// settable properties rather than constructor parameters so that optional CSV columns may be left out.

public sealed record RosterBatch(List<SchoolRow>? Schools, List<StaffRow>? Staff, List<StudentRow>? Students);
public sealed record SchoolRow(string? SchoolId, string? Name);
/// <summary>Phone: the staff member's mobile number for SMS (E.164 after spaces, dashes and parentheses are dropped); optional.</summary>
public sealed record StaffRow(string? StaffId, string? SchoolId, string? Role, string? GivenName, string? FamilyName, string? Email, string? Phone = null);
public sealed record StudentRow(string? StudentId, string? SchoolId, string? GivenName, string? FamilyName, string? GradeLevel);

public sealed record AttendanceBatch(List<AttendanceRow>? Records);
/// <summary>Period is empty for a daily record, or the period's name/number for a per-period record.</summary>
public sealed record AttendanceRow
{
    public string? StudentId { get; init; }
    public string? Date { get; init; }
    public string? Status { get; init; }
    public string? Period { get; init; }
}

public sealed record ItemResponseBatch(List<ItemResponseRow>? Responses);
public sealed record ItemResponseRow
{
    public string? StudentId { get; init; }
    public string? ItemId { get; init; }
    public List<string>? SkillIds { get; init; }
    public bool? Correct { get; init; }
    public int? AttemptNumber { get; init; }
    public int? HintsUsed { get; init; }
    public double? TimeOnTaskSeconds { get; init; }
    public DateTimeOffset? AnsweredAt { get; init; }
}

public sealed record GradeBatch(List<GradeRow>? Grades);
public sealed record GradeRow
{
    public string? StudentId { get; init; }
    public string? CourseId { get; init; }
    public string? Term { get; init; }
    public double? MarkPercent { get; init; }
    public string? Date { get; init; }
}

public sealed record BehaviorIncidentBatch(List<BehaviorIncidentRow>? Incidents);
public sealed record BehaviorIncidentRow
{
    public string? IncidentId { get; init; }
    public string? StudentId { get; init; }
    public string? Date { get; init; }
    public string? Category { get; init; }
    public string? Severity { get; init; }
}

public sealed record CalendarBatch(List<CalendarRow>? Entries);
/// <summary>
/// One line of a school calendar. Type school-year: the year's first (StartDate) and last (EndDate) school day; type
/// non-instructional: days without instruction in that year, StartDate to EndDate (EndDate empty = one day). SchoolId empty:
/// the district-wide calendar; a school's lines add to it.
/// </summary>
public sealed record CalendarRow
{
    public string? SchoolYear { get; init; }
    public string? SchoolId { get; init; }
    public string? Type { get; init; }
    public string? StartDate { get; init; }
    public string? EndDate { get; init; }
    public string? Description { get; init; }
}

/// <summary>What a batch did. Valid rows are kept; rejected rows are reported and quarantined.</summary>
public sealed record BatchSummary(string BatchId, string Kind, string Source, int Received, int Accepted, int Unchanged, int Corrected, int Rejected,
    bool Replayed = false)
{
    /// <summary>A OneRoster bundle's declared version (manifest.csv's oneroster.version); absent for other batches.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? OneRosterVersion { get; init; }

    /// <summary>What happened to each file of a OneRoster bundle (read, not used, declared absent); absent for other batches.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<BundleFile>? Files { get; init; }

    /// <summary>Students' contacts (parents, guardians, relatives) a OneRoster bundle added; absent for other batches.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Contacts { get; init; }

    /// <summary>
    /// Records ended because a file manifest.csv declares bulk no longer lists them (students withdrawn, staff and contacts
    /// removed, classes and enrollments ended), within the schools the bundle covers; absent when no file is bulk.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public OneRosterImport.BulkEnded? EndedByBulk { get; init; }

    /// <summary>
    /// OneRoster rows not applied because their dateLastModified is older than the last change applied to the same record
    /// (a delta sent late or twice); absent for other batches.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Stale { get; init; }
}

/// <summary>An xAPI statement mapped to LMS activity (verbs completed and experienced).</summary>
public sealed record LmsActivityRow
{
    public string? StatementId { get; init; }
    public string? StudentId { get; init; }
    public string? Verb { get; init; }
    public string? ObjectId { get; init; }
    public double? DurationSeconds { get; init; }
    public DateTimeOffset? Timestamp { get; init; }
}

/// <summary>The item catalog: which skills an item or activity practises (CSV: activityId, itemId, skillIds as a;b).</summary>
public sealed record CatalogBatch(List<CatalogRow>? Items);
public sealed record CatalogRow
{
    /// <summary>The item's activity id as learning tools send it (an IRI), or a quiz's, whose questions then share its skills.</summary>
    public string? ActivityId { get; init; }

    /// <summary>Optional: the id answers are stored under; by default the activity id's last segment.</summary>
    public string? ItemId { get; init; }
    public List<string>? SkillIds { get; init; }
}

/// <summary>
/// The xAPI identifier map: an identifier a learning tool names a student by. Kind account takes the account's homePage
/// and name (value); email, mbox_sha1sum, openid, identifier, userId and username take the value alone.
/// </summary>
public sealed record IdentifierBatch(List<IdentifierRow>? Identifiers);
public sealed record IdentifierRow
{
    public string? StudentId { get; init; }
    public string? Kind { get; init; }
    public string? Value { get; init; }
    public string? HomePage { get; init; }
}
