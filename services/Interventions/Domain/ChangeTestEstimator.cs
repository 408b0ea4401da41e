using System.Globalization;

namespace Beacon.Interventions.Domain;

/// <summary>One arm's students and their outcome change (after − before; the estimate as the effect reports make it).</summary>
public sealed record ArmOutcome(int Index, string Label, string Describes, EffectRow Change);

/// <summary>An arm against the reference arm (the first): difference with its 95 % interval, the minimum detectable difference at 80 % power, and a plain sentence.</summary>
public sealed record ArmDifference(string Label, string ReferenceLabel, double Difference, double? CiLow, double? CiHigh, double? MinimumDetectable,
    bool Detectable, string Sentence);

public sealed record ChangeTestResult(IReadOnlyList<ArmOutcome> Arms, IReadOnlyList<ArmDifference> Differences);

/// <summary>How an outcome's differences read in a sentence: the number, and the unit after it.</summary>
public sealed record OutcomeUnits(Func<double, string> Number, string Name);

/// <summary>
/// The report of a test of change. Each student's outcome change is the same before/after change the effect reports use
/// (attendance: <see cref="EffectEstimator"/>'s rates over the window before the start and the window from it; mastery:
/// Mastery's estimate at the start and at the window's end). No matched comparison is needed between arms: the
/// assignment was random, so the arms differ only by chance and by their arm. Per arm: the mean change and its
/// 95 % t-interval (<see cref="EffectEstimator.Summarise"/>); per arm against the first: the difference in mean change,
/// its Welch interval and the minimum detectable difference (<see cref="EffectEstimator.CompareMeans"/>). The intervals
/// of several arms against the first are each at 95 %, not adjusted for their number.
/// </summary>
public static class ChangeTestEstimator
{
    /// <summary>Recorded days a window needs before a student's rate counts: three in a week or longer, else one.</summary>
    public static int MinDaysPerWindow(int windowDays) => windowDays >= 7 ? 3 : 1;

    /// <summary>Each student's attendance change around <paramref name="start"/>; students with too few recorded days are left out.</summary>
    public static Dictionary<string, double> AttendanceChanges(IEnumerable<string> studentIds, IEnumerable<AttendanceFact> days, DateOnly start, int windowDays)
    {
        var wanted = studentIds.ToHashSet(StringComparer.Ordinal);
        var history = days.Where(d => wanted.Contains(d.StudentId)).GroupBy(d => d.StudentId)
            .ToDictionary(g => g.Key, g => g.Select(d => (d.Date, d.Attended)).ToArray(), StringComparer.Ordinal);
        var changes = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (student, own) in history)
        {
            if (EffectEstimator.Change(own, start.AddDays(-windowDays), start, start.AddDays(windowDays), MinDaysPerWindow(windowDays)) is { } change)
            {
                changes[student] = change;
            }
        }
        return changes;
    }

    /// <param name="arms">Label and description of each arm, in order; the first is the reference.</param>
    /// <param name="assigned">Each assigned student's arm index.</param>
    /// <param name="changes">The measured students' outcome change; an assigned student without one is counted as excluded.</param>
    /// <param name="units">How a difference reads in a sentence.</param>
    public static ChangeTestResult Compare(IReadOnlyList<(string Label, string Describes)> arms, IReadOnlyList<(string StudentId, int Arm)> assigned,
        IReadOnlyDictionary<string, double> changes, OutcomeUnits units)
    {
        var perArm = arms.Select((_, i) => assigned.Where(a => a.Arm == i).ToList()).ToList();
        var measured = perArm.Select(list => list.Where(a => changes.ContainsKey(a.StudentId)).Select(a => changes[a.StudentId]).ToList()).ToList();
        var outcomes = arms.Select((arm, i) => new ArmOutcome(i, arm.Label, arm.Describes,
            EffectEstimator.Summarise(arm.Label, measured[i], [.. measured[i].Select(_ => 0.0)], perArm[i].Count - measured[i].Count))).ToList();
        var differences = new List<ArmDifference>();
        for (var i = 1; i < arms.Count; i++)
        {
            var (difference, low, high, minimum) = EffectEstimator.CompareMeans(measured[0], measured[i]);
            var detectable = low is { } l && high is { } h && (l > 0 || h < 0);
            differences.Add(new ArmDifference(arms[i].Label, arms[0].Label, difference, low, high, minimum, detectable,
                Sentence(arms[0], arms[i], difference, low, high, minimum, detectable, units)));
        }
        return new ChangeTestResult(outcomes, differences);
    }

    private static string Sentence((string Label, string Describes) reference, (string Label, string Describes) arm, double difference, double? low, double? high,
        double? minimum, bool detectable, OutcomeUnits units)
    {
        var (a, b) = ($"arm {reference.Label} ({reference.Describes})", $"arm {arm.Label} ({arm.Describes})");
        if (low is null || high is null || minimum is null)
        {
            return $"Not enough measured students to compare {b} with {a} yet: each arm needs at least two.";
        }
        var interval = $"95 % interval {units.Number(low.Value)} to {units.Number(high.Value)}";
        if (!detectable)
        {
            return $"No difference detectable yet between {b} and {a}: the {interval} {units.Name} covers 0. With these arm sizes, only a difference "
                + $"of about {units.Number(minimum.Value)} {units.Name} or more would be found 80 % of the time.";
        }
        return $"The change under {b} was {(difference > 0 ? "larger" : "smaller")} than under {a} by {units.Number(Math.Abs(difference))} {units.Name} ({interval}).";
    }

    /// <summary>Attendance differences read as percentage points.</summary>
    public static readonly OutcomeUnits PercentagePoints = new(v => (v * 100).ToString("0.0", CultureInfo.InvariantCulture), "percentage points");

    /// <summary>Mastery differences read as probability of mastery.</summary>
    public static readonly OutcomeUnits Probability = new(v => v.ToString("0.000", CultureInfo.InvariantCulture), "in probability of mastery");
}
