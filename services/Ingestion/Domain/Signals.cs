namespace Beacon.Ingestion.Domain;

/// <summary>One student's attendance on one school day; (StudentId, Date) is the natural key.</summary>
public sealed class AttendanceRecord
{
    public required string StudentId { get; set; }
    public required DateOnly Date { get; set; }
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
