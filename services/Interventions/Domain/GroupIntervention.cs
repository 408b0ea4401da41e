namespace Beacon.Interventions.Domain;

/// <summary>
/// A teacher's action on a failing skill: one intervention for a group of a section's students (an extra practice set,
/// a re-teach module, a small-group session) on one skill, from a start date for 1 or 2 weeks. Its mastery effect is
/// measured against comparable students not in the group (<see cref="MasteryEffectEstimator"/>).
/// </summary>
public sealed class GroupIntervention
{
    public Guid GroupId { get; set; }
    public required string SectionId { get; set; }
    public required string SchoolId { get; set; }
    public required string Type { get; set; }
    public required string SkillId { get; set; }
    public DateOnly StartDate { get; set; }
    public int DurationWeeks { get; set; }
    public string? Note { get; set; }
    public required string CreatedBy { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public List<GroupMember> Students { get; set; } = [];
    public List<GroupActivity> Activity { get; set; } = [];
}

public sealed class GroupMember
{
    public Guid GroupId { get; set; }
    public required string StudentId { get; set; }
}

/// <summary>The group's history, like a case's: who did what, when.</summary>
public sealed class GroupActivity
{
    public long Id { get; set; }
    public Guid GroupId { get; set; }
    public DateTimeOffset At { get; set; }
    public required string Kind { get; set; }
    public required string By { get; set; }
    public required string Text { get; set; }
}

public static class GroupInterventionTypes
{
    public const string PracticeSet = "practice-set";
    public const string ReteachModule = "re-teach-module";
    public const string SmallGroup = "small-group";
    public static readonly string[] All = [PracticeSet, ReteachModule, SmallGroup];
}

/// <summary>A student's subgroup labels (Early warning's names: <c>sex:female</c>, <c>race:asian</c>, <c>econ:True</c>, <c>el:False</c>, <c>disability:True</c>).</summary>
public sealed class StudentSubgroups
{
    public required string StudentId { get; set; }
    public string Labels { get; set; } = "";

    public static IEnumerable<string> LabelsOf(string? sex, string? race, bool? econ, bool? el, bool? disability)
    {
        if (!string.IsNullOrWhiteSpace(sex))
        {
            yield return $"sex:{sex}";
        }
        if (!string.IsNullOrWhiteSpace(race))
        {
            yield return $"race:{race}";
        }
        if (econ is { } e)
        {
            yield return $"econ:{e}";
        }
        if (el is { } l)
        {
            yield return $"el:{l}";
        }
        if (disability is { } d)
        {
            yield return $"disability:{d}";
        }
    }
}
