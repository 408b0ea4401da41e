namespace Beacon.Ingestion.Api;

// Batch bodies use strings for dates and enumerations so that one bad value rejects one row with a
// clear reason instead of failing the whole document at deserialisation. The same records are the
// columns of the CSV uploads (header names match the property names, case-insensitive).

public sealed record RosterBatch(List<SchoolRow>? Schools, List<StaffRow>? Staff, List<StudentRow>? Students);
public sealed record SchoolRow(string? SchoolId, string? Name);
public sealed record StaffRow(string? StaffId, string? SchoolId, string? Role, string? GivenName, string? FamilyName, string? Email);
public sealed record StudentRow(string? StudentId, string? SchoolId, string? GivenName, string? FamilyName, string? GradeLevel);

public sealed record AttendanceBatch(List<AttendanceRow>? Records);
/// <summary>Period is empty for a daily record, or the period's name/number for a per-period record.</summary>
public sealed record AttendanceRow(string? StudentId, string? Date, string? Status, string? Period = null);

public sealed record ItemResponseBatch(List<ItemResponseRow>? Responses);
public sealed record ItemResponseRow(string? StudentId, string? ItemId, List<string>? SkillIds, bool? Correct, int? AttemptNumber,
    int? HintsUsed, double? TimeOnTaskSeconds, DateTimeOffset? AnsweredAt);

public sealed record GradeBatch(List<GradeRow>? Grades);
public sealed record GradeRow(string? StudentId, string? CourseId, string? Term, double? MarkPercent, string? Date);

public sealed record BehaviorIncidentBatch(List<BehaviorIncidentRow>? Incidents);
public sealed record BehaviorIncidentRow(string? IncidentId, string? StudentId, string? Date, string? Category, string? Severity);

/// <summary>What a batch did. Valid rows are kept; rejected rows are reported and quarantined.</summary>
public sealed record BatchSummary(string BatchId, string Kind, string Source, int Received, int Accepted, int Unchanged, int Corrected, int Rejected,
    bool Replayed = false);
