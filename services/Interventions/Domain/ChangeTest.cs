namespace Beacon.Interventions.Domain;

/// <summary>
/// A small test of change (issue #27): two or more arms (intervention types, or outreach message wordings) assigned at
/// random among eligible students, stratified by school and risk band, with the outcome and window fixed up front. The
/// seed is recorded so the assignment can be reproduced (<see cref="StratifiedAssignment"/>). It decides nothing for
/// staff: the assignment is a suggestion, explained on the case, and staff may still act as they judge best.
/// </summary>
public sealed class ChangeTest
{
    public Guid TestId { get; set; }
    public required string Name { get; set; }

    /// <summary><see cref="ChangeTestOutcomes"/>: attendance rate, or mastery of <see cref="SkillId"/>.</summary>
    public required string Outcome { get; set; }
    public string? SkillId { get; set; }

    /// <summary>The outcome is compared over this many days before the start and the same span from it.</summary>
    public int WindowDays { get; set; }
    public DateOnly StartDate { get; set; }
    public int Seed { get; set; }

    /// <summary>The schools the eligible students came from, comma-separated (who may see the test).</summary>
    public string SchoolIds { get; set; } = "";
    public required string CreatedBy { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public List<ChangeTestArm> Arms { get; set; } = [];
    public List<ChangeTestAssignment> Assignments { get; set; } = [];

    public DateOnly MeasurableFrom => StartDate.AddDays(WindowDays);

    public IReadOnlyList<string> Schools => SchoolIds.Length == 0 ? [] : SchoolIds.Split(',');
}

/// <summary>One arm: its label (A, B, ...), and what it is: an intervention type or a message wording.</summary>
public sealed class ChangeTestArm
{
    public Guid TestId { get; set; }
    public int Index { get; set; }
    public required string Label { get; set; }

    /// <summary><see cref="ChangeTestArmKinds"/>.</summary>
    public required string Kind { get; set; }
    public required string Value { get; set; }

    public string Describe() => Kind == ChangeTestArmKinds.Message ? $"outreach message \"{Value}\"" : Value;
}

/// <summary>One student's arm; the stratum they were drawn in is kept so the balance can be checked.</summary>
public sealed class ChangeTestAssignment
{
    public Guid TestId { get; set; }
    public required string StudentId { get; set; }
    public required string SchoolId { get; set; }
    public required string RiskBand { get; set; }
    public Guid? CaseId { get; set; }
    public int ArmIndex { get; set; }
    public DateTimeOffset AssignedAt { get; set; }
}

/// <summary>A student's latest risk band per kind, as Early warning scored it (RiskScoresChanged): the strata of tests of change.</summary>
public sealed class StudentRiskBand
{
    public required string StudentId { get; set; }
    public required string Kind { get; set; }
    public required string Band { get; set; }
    public double Score { get; set; }
    public DateTimeOffset ScoredAt { get; set; }

    /// <summary>Early warning's bands, worst last; a student it never scored is <c>unscored</c>.</summary>
    public static readonly string[] Order = ["unscored", "low", "elevated", "high"];

    public static string Worst(IEnumerable<string> bands) =>
        bands.Select(b => (Band: b, Rank: Array.IndexOf(Order, b))).Where(b => b.Rank >= 0).OrderByDescending(b => b.Rank).Select(b => b.Band).FirstOrDefault() ?? Order[0];
}

public static class ChangeTestOutcomes
{
    public const string Attendance = "attendance";
    public const string Mastery = "mastery";
    public static readonly string[] All = [Attendance, Mastery];
}

public static class ChangeTestArmKinds
{
    public const string InterventionType = "intervention-type";
    public const string Message = "message";
}
