using MathNet.Numerics.Distributions;

namespace Beacon.Interventions.Domain;

/// <summary>A completed intervention to measure: whose, where, what, from when.</summary>
public sealed record TreatedCase(Guid CaseId, string StudentId, string SchoolId, string InterventionType, DateOnly StartDate);

/// <summary>One school day of one student: in school or not.</summary>
public sealed record AttendanceFact(string StudentId, string SchoolId, DateOnly Date, bool Attended);

/// <summary>Per intervention type: cases measured, their mean change, the comparison change, and the difference with a 95 % CI.</summary>
public sealed record EffectRow(string InterventionType, int Cases, int Excluded, double MeanChange, double ComparisonChange,
    double Difference, double? CiLow, double? CiHigh);

public sealed record EffectSettings(int WindowWeeks = 2, int MatchingWeeks = 4, double Caliper = 0.10, int MaxComparisons = 10, int MinDaysPerWindow = 3);

/// <summary>
/// Difference in differences against matched comparison students. For each completed intervention:
/// change = attendance rate in the window after the start − in the window before. Comparison students
/// are in the same school, were not in an intervention (no case opened) before the after-window ends,
/// and had a similar attendance rate (within the caliper; the nearest ones) in the weeks before the
/// before-window. Matching on that earlier period, not on the before-window itself, keeps regression to
/// the mean out of the comparison. Effect per case = its change − the mean change of its comparisons;
/// per type: mean effect and a t-interval that counts the comparison students cases share (<see cref="SummariseMatched"/>).
/// </summary>
public static class EffectEstimator
{
    public static List<EffectRow> Estimate(IReadOnlyList<TreatedCase> treated, IReadOnlyList<AttendanceFact> days,
        IReadOnlyDictionary<string, DateOnly> firstCaseOpened, EffectSettings settings) =>
        [.. MeasureCases(treated, days, firstCaseOpened, settings).GroupBy(m => m.Case.InterventionType).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => SummariseMatched(g.Key, [.. g.Where(m => m.Measured)], g.Count(m => !m.Measured)))];

    /// <summary>
    /// One completed case measured: its change, its comparison students' mean change, and each of them (who, for which
    /// windows, and their change); Measured false when excluded.
    /// </summary>
    public sealed record MeasuredCase(TreatedCase Case, bool Measured, double Change, double Comparison, IReadOnlyList<Matched> Comparisons) : IMatchedUnit;

    /// <summary>A comparison student's change over one case's windows; the key names the student and the windows (the same key: the same change).</summary>
    public readonly record struct Matched(string Key, double Change);

    /// <summary>A treated unit (a case in one outcome) and the comparison students it was matched with.</summary>
    public interface IMatchedUnit
    {
        double Change { get; }
        IReadOnlyList<Matched> Comparisons { get; }
    }

    /// <summary>Each case's change and its matched comparison (see the class summary), for any grouping of the cases.</summary>
    public static List<MeasuredCase> MeasureCases(IReadOnlyList<TreatedCase> treated, IReadOnlyList<AttendanceFact> days,
        IReadOnlyDictionary<string, DateOnly> firstCaseOpened, EffectSettings settings)
    {
        var bySchool = days.GroupBy(d => d.SchoolId).ToDictionary(
            g => g.Key,
            g => g.GroupBy(d => d.StudentId).ToDictionary(s => s.Key, s => s.Select(d => (d.Date, d.Attended)).ToArray()));
        var window = settings.WindowWeeks * 7;
        var measured = new List<MeasuredCase>(treated.Count);
        foreach (var t in treated)
        {
            var students = bySchool.GetValueOrDefault(t.SchoolId);
            var beforeFrom = t.StartDate.AddDays(-window);
            var afterTo = t.StartDate.AddDays(window);
            var matchFrom = beforeFrom.AddDays(-settings.MatchingWeeks * 7);
            var own = students?.GetValueOrDefault(t.StudentId);
            var change = own is null ? null : Change(own, beforeFrom, t.StartDate, afterTo, settings.MinDaysPerWindow);
            if (change is null)
            {
                measured.Add(new MeasuredCase(t, false, double.NaN, double.NaN, []));
                continue;
            }
            var ownMatch = Rate(own!, matchFrom, beforeFrom, settings.MinDaysPerWindow);
            var pool = new List<(double Distance, double Change, string StudentId)>();
            foreach (var (studentId, history) in students!)
            {
                if (studentId == t.StudentId || (firstCaseOpened.TryGetValue(studentId, out var opened) && opened < afterTo))
                {
                    continue;
                }
                if (Change(history, beforeFrom, t.StartDate, afterTo, settings.MinDaysPerWindow) is not { } c)
                {
                    continue;
                }
                if (ownMatch is { } m)
                {
                    if (Rate(history, matchFrom, beforeFrom, settings.MinDaysPerWindow) is not { } r || Math.Abs(r - m) > settings.Caliper)
                    {
                        continue;
                    }
                    pool.Add((Math.Abs(r - m), c, studentId));
                }
                else
                {
                    // No earlier history to match on: every eligible student of the school compares.
                    pool.Add((0, c, studentId));
                }
            }
            if (pool.Count == 0)
            {
                measured.Add(new MeasuredCase(t, false, double.NaN, double.NaN, []));
                continue;
            }
            var matched = pool.OrderBy(p => p.Distance).Take(ownMatch is null ? int.MaxValue : settings.MaxComparisons).ToList();
            measured.Add(new MeasuredCase(t, true, change.Value, matched.Average(p => p.Change),
                [.. matched.Select(p => new Matched($"{t.SchoolId}/{p.StudentId}/{t.StartDate:yyyy-MM-dd}", p.Change))]));
        }
        return measured;
    }

    /// <summary>
    /// The statistics of units taken as independent (the mastery effect's students in <see cref="MasteryEffectEstimator"/>,
    /// a test of change's arms): per unit its change and its comparison's; the mean difference and a 95 % t-interval over
    /// units (none below two). Cases matched to shared comparison students use <see cref="SummariseMatched"/>.
    /// </summary>
    public static EffectRow Summarise(string type, List<double> changes, List<double> comparison, int excluded)
    {
        var n = changes.Count;
        if (n == 0)
        {
            return new EffectRow(type, 0, excluded, double.NaN, double.NaN, double.NaN, null, null);
        }
        var diffs = changes.Zip(comparison, (a, b) => a - b).ToList();
        var mean = diffs.Average();
        double? low = null, high = null;
        if (n >= 2)
        {
            var sd = Math.Sqrt(diffs.Sum(d => (d - mean) * (d - mean)) / (n - 1));
            var half = StudentT.InvCDF(0, 1, n - 1, 0.975) * sd / Math.Sqrt(n);
            (low, high) = (mean - half, mean + half);
        }
        return new EffectRow(type, n, excluded, changes.Average(), comparison.Average(), mean, low, high);
    }

    /// <summary>
    /// Mean difference of matched units and its 95 % t-interval, counting that comparison students are shared: cases go to
    /// the students most at risk, so the few alike students without a case serve many cases, and their noise moves all
    /// those differences together (taken as independent, the attendance effect's interval covered the truth 92 % of the
    /// time over 200 simulated districts, the risk-score effect's 87 %). The estimate is the units' mean change −
    /// Σ w_j × change_j over the comparison students j, w_j the share of the units' weight each carries (1 / units / the
    /// unit's comparisons, summed over the units it serves); its variance s²(units' changes) / n + s²(comparisons' changes)
    /// × Σ w_j² (matching with replacement, the matches taken as given). No interval below two units or two comparisons.
    /// </summary>
    public static EffectRow SummariseMatched(string type, IReadOnlyList<IMatchedUnit> units, int excluded)
    {
        var measured = units.Where(u => u.Comparisons.Count > 0).ToList();
        var n = measured.Count;
        excluded += units.Count - n;
        if (n == 0)
        {
            return new EffectRow(type, 0, excluded, double.NaN, double.NaN, double.NaN, null, null);
        }
        var weights = new Dictionary<string, (double Weight, double Change)>(StringComparer.Ordinal);
        foreach (var u in measured)
        {
            foreach (var (key, change) in u.Comparisons)
            {
                weights[key] = (weights.GetValueOrDefault(key).Weight + 1.0 / n / u.Comparisons.Count, change);
            }
        }
        var changes = measured.Select(u => u.Change).ToList();
        var (meanChange, comparison) = (changes.Average(), weights.Values.Sum(w => w.Weight * w.Change));
        double? low = null, high = null;
        if (n >= 2 && weights.Count >= 2)
        {
            var se = Math.Sqrt(Variance(changes) / n + Variance([.. weights.Values.Select(w => w.Change)]) * weights.Values.Sum(w => w.Weight * w.Weight));
            var half = StudentT.InvCDF(0, 1, n - 1, 0.975) * se;
            (low, high) = (meanChange - comparison - half, meanChange - comparison + half);
        }
        return new EffectRow(type, n, excluded, meanChange, comparison, meanChange - comparison, low, high);
    }

    private static double Variance(List<double> xs)
    {
        var mean = xs.Average();
        return xs.Sum(x => (x - mean) * (x - mean)) / (xs.Count - 1);
    }

    /// <summary>
    /// Two independent groups (the arms of a test of change): mean of <paramref name="b"/> − mean of <paramref name="a"/>,
    /// its 95 % Welch t-interval (unequal variances), and the minimum detectable difference: the smallest true difference a
    /// two-sided 5 % test finds with 80 % power, (t₀.₉₇₅ + t₀.₈₀) × standard error, at these group sizes and the observed
    /// variances. Interval and minimum are null below two units in either group.
    /// </summary>
    public static (double Difference, double? Low, double? High, double? MinimumDetectable) CompareMeans(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count == 0 || b.Count == 0)
        {
            return (double.NaN, null, null, null);
        }
        var difference = b.Average() - a.Average();
        if (a.Count < 2 || b.Count < 2)
        {
            return (difference, null, null, null);
        }
        static double VarianceOfMean(IReadOnlyList<double> x)
        {
            var mean = x.Average();
            return x.Sum(v => (v - mean) * (v - mean)) / (x.Count - 1) / x.Count;
        }
        var (va, vb) = (VarianceOfMean(a), VarianceOfMean(b));
        var se = Math.Sqrt(va + vb);
        // Welch–Satterthwaite degrees of freedom; with no spread at all, the pooled count.
        var df = va + vb > 0 ? (va + vb) * (va + vb) / (va * va / (a.Count - 1) + vb * vb / (b.Count - 1)) : a.Count + b.Count - 2;
        var t = StudentT.InvCDF(0, 1, df, 0.975);
        return (difference, difference - t * se, difference + t * se, (t + StudentT.InvCDF(0, 1, df, 0.80)) * se);
    }

    /// <summary>Rate after − rate before, or null when either window has too few recorded days.</summary>
    internal static double? Change((DateOnly Date, bool Attended)[] history, DateOnly beforeFrom, DateOnly start, DateOnly afterTo, int minDays) =>
        Rate(history, beforeFrom, start, minDays) is { } before && Rate(history, start, afterTo, minDays) is { } after ? after - before : null;

    /// <summary>Share of recorded days in [from, to) the student attended.</summary>
    private static double? Rate((DateOnly Date, bool Attended)[] history, DateOnly from, DateOnly to, int minDays)
    {
        int recorded = 0, attended = 0;
        foreach (var (date, present) in history)
        {
            if (date >= from && date < to)
            {
                recorded++;
                attended += present ? 1 : 0;
            }
        }
        return recorded >= minDays ? (double)attended / recorded : null;
    }
}
