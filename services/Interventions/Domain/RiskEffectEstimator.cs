namespace Beacon.Interventions.Domain;

/// <summary>A student's risk score of one kind on one day (the newest of that day), in the school it was scored for.</summary>
public sealed record RiskPoint(string StudentId, string SchoolId, string Kind, DateOnly Day, double Score);

/// <summary>Per risk kind and intervention type: the effect on the score (negative: the risk went down against comparable students).</summary>
public sealed record RiskEffectRow(string Kind, EffectRow Effect);

/// <param name="WindowWeeks">The attendance effect's window: the score at the start against the score this many weeks after.</param>
/// <param name="MatchingWeeks">The weeks before the window before the start, whose mean score comparison students share too.</param>
/// <param name="Caliper">Comparison students' score at the start, and their mean score in the matching weeks, lie within this of the case's.</param>
/// <param name="MaxAgeDays">A score stands for a day when it is at most this many days older (Early warning may score weekly).</param>
public sealed record RiskEffectSettings(int WindowWeeks = 2, int MatchingWeeks = 4, double Caliper = 0.05, int MaxComparisons = 10, int MaxAgeDays = 7);

/// <summary>
/// The risk-score effect of individual cases, difference in differences as the attendance effect is. For each measured case
/// and each risk kind the student was scored in: change = the score as of the end of the window (start + window weeks) − the
/// score as of the start (each the newest daily score in the <see cref="RiskEffectSettings.MaxAgeDays"/> before; the later one
/// on or after the start). Comparison students are of the same school and kind, had no case opened before the window ended,
/// and scored alike before: within the caliper of the case's score as of the start and of its mean score in the matching
/// weeks before the window before the start (the attendance effect's earlier period); the nearest ones (the two distances
/// summed), up to <see cref="RiskEffectSettings.MaxComparisons"/>, and their mean change. Both, because cases go to students
/// who are at risk: matched on the start score alone, a case's score would fall back more than its comparisons' (whose start
/// score is more often a high day of a lower risk), regression to the mean counted as effect; the earlier mean, over many
/// days, pins the student's lasting level, and the start score the day's. Without earlier scores the start score alone
/// matches. Effect per case = its change − that mean; per kind and type: the mean and a 95 % t-interval whose standard
/// error counts the comparison students that cases share (<see cref="EffectEstimator.SummariseMatched"/>). A case with no score before or after, or
/// no comparable student, is excluded (counted).
/// </summary>
public static class RiskEffectEstimator
{
    /// <summary>One student's scores of one kind, in day order.</summary>
    private sealed record Series(DateOnly[] Days, double[] Scores);

    public static List<RiskEffectRow> Estimate(IReadOnlyList<TreatedCase> treated, IReadOnlyList<RiskPoint> points,
        IReadOnlyDictionary<string, DateOnly> firstCaseOpened, RiskEffectSettings settings)
    {
        var bySchoolAndKind = points.GroupBy(p => (p.SchoolId, p.Kind)).ToDictionary(g => g.Key, g => g.GroupBy(p => p.StudentId).ToDictionary(
            s => s.Key,
            s =>
            {
                var ordered = s.OrderBy(p => p.Day).ToArray();
                return new Series([.. ordered.Select(p => p.Day)], [.. ordered.Select(p => p.Score)]);
            }));
        var units = new List<Unit>();
        var window = 7 * settings.WindowWeeks;
        foreach (var t in treated)
        {
            var end = t.StartDate.AddDays(window);
            foreach (var ((school, kind), students) in bySchoolAndKind)
            {
                if (school != t.SchoolId || !students.TryGetValue(t.StudentId, out var own))
                {
                    continue;
                }
                var ownChange = Measure(own, t.StartDate, settings);
                var comparable = ownChange is null ? [] : students
                    .Where(s => s.Key != t.StudentId && !(firstCaseOpened.TryGetValue(s.Key, out var opened) && opened < end))
                    .Select(s => (Key: $"{school}/{s.Key}/{t.StartDate:yyyy-MM-dd}", Measured: Measure(s.Value, t.StartDate, settings)))
                    .Where(c => c.Measured is not null)
                    .Select(c => (c.Key, c.Measured!.Change, Distance: Distance(ownChange, c.Measured, settings.Caliper)))
                    .Where(c => c.Distance is not null)
                    .OrderBy(c => c.Distance)
                    .Take(settings.MaxComparisons)
                    .Select(c => new EffectEstimator.Matched(c.Key, c.Change))
                    .ToList();
                units.Add(new Unit(kind, t.InterventionType, ownChange?.Change ?? double.NaN, comparable));
            }
        }
        return [.. units.GroupBy(u => (u.Kind, u.Type)).OrderBy(g => g.Key.Kind, StringComparer.Ordinal).ThenBy(g => g.Key.Type, StringComparer.Ordinal)
            .Select(g => new RiskEffectRow(g.Key.Kind, EffectEstimator.SummariseMatched(g.Key.Type, [.. g], 0)))];
    }

    /// <summary>One case measured in one kind: its change and its comparison students' (keyed by school, student and start); none when excluded.</summary>
    private sealed record Unit(string Kind, string Type, double Change, IReadOnlyList<EffectEstimator.Matched> Comparisons) : EffectEstimator.IMatchedUnit;

    /// <summary>A student's score as of the start, its change to the end of the window, and their mean score in the matching weeks (null without any).</summary>
    private sealed record Measured(double Before, double Change, double? Earlier);

    /// <summary>Null without a score for the start or for the end of the window.</summary>
    private static Measured? Measure(Series s, DateOnly start, RiskEffectSettings settings)
    {
        var end = start.AddDays(7 * settings.WindowWeeks);
        var lastWeekOfWindow = end.AddDays(-settings.MaxAgeDays);
        if (ScoreAsOf(s, start, start.AddDays(-settings.MaxAgeDays)) is not { } before
            || ScoreAsOf(s, end, lastWeekOfWindow > start ? lastWeekOfWindow : start) is not { } after)
        {
            return null;
        }
        var (matchFrom, matchTo) = (start.AddDays(-7 * (settings.WindowWeeks + settings.MatchingWeeks)), start.AddDays(-7 * settings.WindowWeeks));
        var earlier = s.Days.Select((day, i) => (day, i)).Where(d => d.day >= matchFrom && d.day < matchTo).Select(d => s.Scores[d.i]).ToList();
        return new Measured(before, after - before, earlier.Count > 0 ? earlier.Average() : null);
    }

    /// <summary>How far a candidate is from the case (start score, plus earlier mean where the case has one); null beyond the caliper.</summary>
    private static double? Distance(Measured own, Measured other, double caliper)
    {
        var atStart = Math.Abs(other.Before - own.Before);
        if (atStart > caliper)
        {
            return null;
        }
        if (own.Earlier is not { } ownEarlier)
        {
            return atStart;
        }
        return other.Earlier is { } e && Math.Abs(e - ownEarlier) <= caliper ? atStart + Math.Abs(e - ownEarlier) : null;
    }

    /// <summary>The newest score of a day in [from, before): a binary search over the days.</summary>
    private static double? ScoreAsOf(Series s, DateOnly before, DateOnly from)
    {
        var i = Array.BinarySearch(s.Days, before);
        // Not found: the complement of the first day after; found: that day itself is not before. Either way, the one before it.
        var last = (i >= 0 ? i : ~i) - 1;
        return last >= 0 && s.Days[last] >= from ? s.Scores[last] : null;
    }
}
