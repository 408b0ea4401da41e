using System.Globalization;
using System.Text.Json;
using Beacon.Contracts.Events;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Notifications.Domain;

/// <summary>
/// One kind of evidence on a student's worklist entry. The attendance indicator and the attendance model speak
/// about the same evidence, so they share one reason (<see cref="Family"/> "chronic-absence") with both readings
/// side by side instead of two lines. <see cref="Level"/>: 2 = flagged, 3 = severe (see <see cref="Worklist.LevelOf"/>).
/// </summary>
public sealed record WorklistReason(string Family, string Label, int Level, string? IndicatorText, double? IndicatorScore,
    string? ModelText, double? ModelScore, DateTimeOffset UpdatedAt, IReadOnlyList<Guid> AlertIds);

/// <summary>What changed on an entry when an alert was applied.</summary>
public enum WorklistChange
{
    /// <summary>The alert was already applied (a redelivery): nothing changed.</summary>
    None,

    /// <summary>Same reasons, same levels: the text and numbers were updated in place, nobody is told again.</summary>
    Updated,

    /// <summary>A kind of reason the entry did not have, or a reason's level went up: worth a notification.</summary>
    Material,
}

/// <summary>
/// The rules of a counselor's worklist: one entry per student, the student's current reasons across every alert
/// kind, a notification only when something materially changes. A correction that moves an absence rate back over
/// the line raises a second alert of the same kind at the same level: that updates the entry and tells nobody.
/// </summary>
public static class Worklist
{
    private const string ModelSuffix = "-model";

    /// <summary>Alerts kept per reason to recognise a redelivered one (a reason sees a few crossings a term).</summary>
    private const int AlertIdsKept = 20;

    /// <summary>The kind of evidence an alert kind speaks about: a model's kind without its "-model" suffix.</summary>
    public static string FamilyOf(string kind) => kind.EndsWith(ModelSuffix, StringComparison.Ordinal) ? kind[..^ModelSuffix.Length] : kind;

    /// <summary>The kinds of evidence a reason can be, in the order counselors read them (the ABCs, then the model).</summary>
    public static readonly IReadOnlyList<string> Families = [RiskKinds.ChronicAbsence, RiskKinds.Behavior, RiskKinds.CoursePerformance, "dropout"];

    public static string LabelOf(string family) => family switch
    {
        RiskKinds.ChronicAbsence => "Attendance",
        RiskKinds.Behavior => "Behaviour",
        RiskKinds.CoursePerformance => "Course performance",
        "dropout" => "Dropout risk",
        _ => family,
    };

    /// <summary>
    /// 3 (severe) or 2 (flagged). Attendance: 20 % of days or more missed is "severe chronic absence" in Attendance
    /// Works' tiers (10–19 % is "moderate"); a model: a calibrated probability of 80 % or more; behaviour: three
    /// incidents or more; course performance: half the current courses or more failing.
    /// </summary>
    public static int LevelOf(string kind, double score) => kind switch
    {
        _ when kind.EndsWith(ModelSuffix, StringComparison.Ordinal) => score >= 0.8 ? 3 : 2,
        RiskKinds.ChronicAbsence => score >= 0.2 ? 3 : 2,
        RiskKinds.Behavior => score >= 3 ? 3 : 2,
        RiskKinds.CoursePerformance => score >= 0.5 ? 3 : 2,
        _ => 2,
    };

    /// <summary>Applies one alert to the current reasons; returns the new reasons and what changed.</summary>
    public static (List<WorklistReason> Reasons, WorklistChange Change) Apply(IReadOnlyList<WorklistReason> current, RiskAlertRaised alert)
    {
        var family = FamilyOf(alert.Kind);
        var isModel = family != alert.Kind;
        var reasons = current.ToList();
        var index = reasons.FindIndex(r => r.Family == family);
        var old = index >= 0 ? reasons[index] : null;
        if (old is not null && old.AlertIds.Contains(alert.AlertId))
        {
            return (reasons, WorklistChange.None);
        }
        var level = LevelOf(alert.Kind, alert.Score);
        var reason = (old ?? new WorklistReason(family, LabelOf(family), level, null, null, null, null, alert.RaisedAt, [])) with
        {
            Level = Math.Max(old is null ? 0 : old.Level, level),
            UpdatedAt = alert.RaisedAt,
            AlertIds = [.. (old?.AlertIds ?? []).TakeLast(AlertIdsKept - 1), alert.AlertId],
        };
        reason = isModel
            ? reason with { ModelText = alert.Reason, ModelScore = alert.Score }
            : reason with { IndicatorText = alert.Reason, IndicatorScore = alert.Score };
        if (old is null)
        {
            reasons.Add(reason);
        }
        else
        {
            reasons[index] = reason;
        }
        // Highest level first, then the most recent evidence.
        reasons = [.. reasons.OrderByDescending(r => r.Level).ThenByDescending(r => r.UpdatedAt)];
        var material = old is null || level > old.Level;
        return (reasons, material ? WorklistChange.Material : WorklistChange.Updated);
    }

    /// <summary>One line a counselor reads: "Attendance (severe): Missed 6 of 20 … Model: 83 % chance …".</summary>
    public static string Describe(WorklistReason r)
    {
        var parts = new List<string>();
        if (r.IndicatorText is { Length: > 0 } indicator)
        {
            parts.Add(indicator);
        }
        if (r.ModelScore is { } p)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"Model: {p:P0} chance.") + (r.ModelText is { Length: > 0 } m ? $" {m}" : ""));
        }
        return $"{r.Label}{(r.Level >= 3 ? " (severe)" : "")}: {string.Join(" ", parts)}";
    }

    public static string StudentLabel(string name, string gradeLevel, string schoolId) =>
        $"{name}{(gradeLevel.Length > 0 ? $", grade {gradeLevel}" : "")}, {schoolId}";

    /// <summary>
    /// The student's name, grade and school as a worklist entry knows them (every alerted student has one), else
    /// "student {id}": case notices are about students who were alerted, so no roster call is needed for them.
    /// </summary>
    /// <remarks>Also what a text message may say of the same student (<see cref="SmsText.Student"/>: initials and grade, no name).</remarks>
    public static async Task<(string Label, string Short)> StudentLabelsAsync(Storage.NotificationsDbContext db, string studentId, string schoolId, CancellationToken ct)
    {
        var known = await db.Worklist.AsNoTracking().Where(w => w.StudentId == studentId)
            .Select(w => new { w.StudentName, w.GradeLevel }).FirstOrDefaultAsync(ct);
        return known is null
            ? ($"student {studentId}", SmsText.Student(studentId, studentId, ""))
            : (StudentLabel(known.StudentName, known.GradeLevel, schoolId), SmsText.Student(known.StudentName, studentId, known.GradeLevel));
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static List<WorklistReason> Parse(string json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize<List<WorklistReason>>(json, Json) ?? [];

    public static string Format(IReadOnlyList<WorklistReason> reasons) => JsonSerializer.Serialize(reasons, Json);
}
