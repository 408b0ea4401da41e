using Beacon.RiskModels.Attendance;

namespace Beacon.RiskModels.Monitoring;

/// <summary>
/// What the model saw in training, kept on its card as the drift reference: a sample of the calibration slice's inputs,
/// the served model's calibrated scores on the same rows and, where the training set knew it, the school day of the year
/// each row was cut at (cards written before points were kept have none).
/// </summary>
public sealed record DriftReference(IReadOnlyList<float[]> Features, IReadOnlyList<double> Scores, IReadOnlyList<int>? Points = null)
{
    /// <summary>Enough rows for stable deciles while keeping the card small.</summary>
    public const int MaximumRows = 2000;

    /// <summary>Fewer reference rows than this at the served points of the year is too few to compare with alone.</summary>
    public const int MinimumRowsAtPoints = 100;

    /// <summary>
    /// Up to <see cref="MaximumRows"/> of the rows with the model's scores on them. Rows cut at points of the year are taken
    /// evenly over the points (the first row at each point, then the second, ...), so a model trained across the year keeps
    /// as many rows at each point as the card allows, rather than however many a random draw left there.
    /// </summary>
    public static DriftReference From(IReadOnlyList<LabelledExample> rows, IReadOnlyList<double> scores)
    {
        var count = Math.Min(rows.Count, scores.Count);
        var order = Enumerable.Range(0, count).ToArray();
        if (rows.Take(count).All(r => r.Point is not null))
        {
            order = [.. order.GroupBy(i => rows[i].Point!.Value).SelectMany(g => g.Select((row, rank) => (row, rank, point: g.Key)))
                .OrderBy(x => x.rank).ThenBy(x => x.point).Take(MaximumRows).Select(x => x.row).Order()];
        }
        var kept = order.Take(MaximumRows).ToArray();
        return new DriftReference(kept.Select(i => rows[i].Features).ToArray(), kept.Select(i => Math.Round(scores[i], 5)).ToArray(),
            kept.Length > 0 && kept.All(i => rows[i].Point is not null) ? kept.Select(i => rows[i].Point!.Value).ToArray() : null);
    }

    /// <summary>"school days 10–90", or null when the rows carry no points.</summary>
    public string? DescribePoints() => Points is { Count: > 0 } p ? Range(p.Min(), p.Max()) : null;

    public static string Range(int from, int to) => from == to ? $"school day {from}" : $"school days {from}–{to}";

    /// <summary>
    /// The training rows at the same points of the year as a window whose row i was served at <paramref name="currentPoints"/>[i],
    /// and the window's rows to compare with them: at every point both have, the two sides in the same proportions (so a window
    /// of students all at school day 25 meets rows cut at day 25, not a spread of the year). Each point weighs the smaller of its
    /// shares on either side, and each side then keeps as many of its rows as those proportions allow: a card holds a few dozen
    /// rows at each school day, so neither side's proportions are imposed on the other at the cost of most of its rows. Null when
    /// the card kept no points, or the model has too few rows at the served points, or most of the window is at points it was
    /// never trained at: then it is serving outside what it learnt, and the caller compares with every row and says so.
    /// </summary>
    public PointMatch? AtPoints(IReadOnlyList<int> currentPoints)
    {
        if (Points is null || currentPoints.Count == 0)
        {
            return null;
        }
        var referenceAt = Enumerable.Range(0, Points.Count).ToLookup(i => Points[i]);
        var currentAt = Enumerable.Range(0, currentPoints.Count).ToLookup(i => currentPoints[i]);
        var common = currentAt.Where(g => referenceAt.Contains(g.Key)).Select(g => (Point: g.Key, Reference: referenceAt[g.Key].ToArray(), Current: g.ToArray())).ToArray();
        var (inReference, inCurrent) = (common.Sum(g => g.Reference.Length), common.Sum(g => g.Current.Length));
        if (inCurrent * 2 < currentPoints.Count)
        {
            return null;
        }
        var share = common.Select(g => Math.Min((double)g.Reference.Length / inReference, (double)g.Current.Length / inCurrent)).ToArray();
        int[] Take(Func<(int Point, int[] Reference, int[] Current), int[]> side)
        {
            var scale = common.Select((g, k) => side(g).Length / share[k]).Min();
            return [.. common.SelectMany((g, k) => side(g).Take((int)Math.Floor(scale * share[k] + 1e-9))).Order()];
        }
        var rows = Take(g => g.Reference);
        return rows.Length < MinimumRowsAtPoints ? null
            : new PointMatch(new DriftReference(rows.Select(i => Features[i]).ToArray(), rows.Select(i => Scores[i]).ToArray(), rows.Select(i => Points[i]).ToArray()),
                Take(g => g.Current));
    }
}

/// <summary>The training rows matched to a window's points of the year, and which of the window's rows are at those points.</summary>
public sealed record PointMatch(DriftReference Reference, IReadOnlyList<int> CurrentRows);

/// <summary>The drift of one measured quantity (an input or "score") between the reference and a window.</summary>
public sealed record MeasureDrift(string Measure, double Psi, DriftBand Band, double KolmogorovSmirnov, double KsPValue, double Wasserstein,
    double ReferenceMissingRate, double CurrentMissingRate);

public sealed record DriftResult(int ReferenceRows, int CurrentRows, IReadOnlyList<MeasureDrift> Measures)
{
    public const string Score = "score";

    public MeasureDrift ScoreDrift => Measures.Single(m => m.Measure == Score);

    public DriftBand WorstBand => Measures.Max(m => m.Band);
}

/// <summary>Compares a current window of inputs and scores with a model's training reference, measure by measure.</summary>
public static class DriftAnalysis
{
    public static DriftResult Compare(FeatureSet features, DriftReference reference, IReadOnlyList<float[]> current, IReadOnlyList<double> currentScores)
    {
        if (current.Count == 0)
        {
            throw new ArgumentException("The current window holds no students.", nameof(current));
        }
        var measures = new List<MeasureDrift>(features.Count + 1);
        for (var i = 0; i < features.Count; i++)
        {
            var index = i;
            measures.Add(Measure(features.Features[i].Name,
                reference.Features.Select(f => (double)f[index]).ToArray(), current.Select(f => (double)f[index]).ToArray()));
        }
        measures.Add(Measure(DriftResult.Score, reference.Scores, currentScores));
        return new DriftResult(reference.Features.Count, current.Count, measures);
    }

    private static MeasureDrift Measure(string name, IReadOnlyList<double> reference, IReadOnlyList<double> current)
    {
        var d = DriftMeasures.Numeric(reference, current);
        return new MeasureDrift(name, d.Psi, d.Band, d.KolmogorovSmirnov, d.KsPValue, d.Wasserstein, d.ReferenceMissingRate, d.CurrentMissingRate);
    }

    /// <summary>
    /// A student's attendance inputs over their last 20–30 school days (the length fixed per student by a hash of the id): the
    /// live baseline's like-for-like window, in which a count such as days enrolled does not drift merely because the year goes
    /// on, and a real change in behaviour or recording shows. (The cold-start models were once trained at school days 20–30
    /// only, hence the length; they are now trained across the year, which these days are part of.)
    /// </summary>
    public static float[] MonitoringWindow(string studentId, IEnumerable<SchoolDay> days, int minimumDays = 20, int maximumDays = 30)
    {
        var ordered = days.OrderBy(d => d.Date).ToArray();
        var length = minimumDays + (int)(StableHash(studentId) % (uint)(maximumDays - minimumDays + 1));
        return AttendanceFeatures.Compute(ordered.Skip(Math.Max(0, ordered.Length - length)));
    }

    /// <summary>
    /// One of a student's scoring moments in a window (e.g. the school days of a week, in date order), fixed per student by a hash of
    /// the id: the model scored every student at each of them, so one moment each, spread evenly over the window, samples what it
    /// was served there without reading every student at every day.
    /// </summary>
    public static T ServedMoment<T>(string studentId, IReadOnlyList<T> moments) =>
        moments.Count == 0 ? throw new ArgumentException("A student served in the window has at least one moment in it.", nameof(moments))
            : moments[(int)(StableHash(studentId) % (uint)moments.Count)];

    /// <summary>FNV-1a: stable across processes, unlike string.GetHashCode.</summary>
    private static uint StableHash(string value)
    {
        var hash = 2166136261u;
        foreach (var c in value)
        {
            hash = (hash ^ c) * 16777619u;
        }
        return hash;
    }
}
