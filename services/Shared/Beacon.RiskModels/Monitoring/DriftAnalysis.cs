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

    public static DriftReference From(IReadOnlyList<LabelledExample> rows, IReadOnlyList<double> scores)
    {
        var take = Math.Min(MaximumRows, Math.Min(rows.Count, scores.Count));
        var kept = rows.Take(take).ToArray();
        return new DriftReference(kept.Select(r => r.Features).ToArray(), scores.Take(take).Select(s => Math.Round(s, 5)).ToArray(),
            kept.All(r => r.Point is not null) ? kept.Select(r => r.Point!.Value).ToArray() : null);
    }

    /// <summary>"school days 20–30", or null when the rows carry no points.</summary>
    public string? DescribePoints() => Points is { Count: > 0 } p ? Range(p.Min(), p.Max()) : null;

    public static string Range(int from, int to) => from == to ? $"school day {from}" : $"school days {from}–{to}";

    /// <summary>
    /// The training rows at the same points of the year as a window whose row i was served at <paramref name="currentPoints"/>[i]:
    /// at every point both have, reference rows in the window's proportions (so a window of students all at school day 25
    /// meets rows cut at day 25, not a spread of days 20–30), and the window's rows at those points. Null when the card kept
    /// no points, or the model has too few rows at the served points, or most of the window is at points it was never
    /// trained at: then it is serving outside what it learnt, and the caller compares with every row and says so.
    /// </summary>
    public PointMatch? AtPoints(IReadOnlyList<int> currentPoints)
    {
        if (Points is null || currentPoints.Count == 0)
        {
            return null;
        }
        var referenceAt = Enumerable.Range(0, Points.Count).ToLookup(i => Points[i]);
        var currentAt = Enumerable.Range(0, currentPoints.Count).ToLookup(i => currentPoints[i]);
        var common = currentAt.Where(g => referenceAt.Contains(g.Key)).ToArray();
        var kept = common.Sum(g => g.Count());
        if (kept * 2 < currentPoints.Count)
        {
            return null;
        }
        // The most reference rows a point can give per window row, over every common point: the proportions then match.
        var perRow = common.Min(g => (double)referenceAt[g.Key].Count() / g.Count());
        var rows = common.SelectMany(g => referenceAt[g.Key].Take((int)Math.Floor(perRow * g.Count()))).Order().ToArray();
        return rows.Length < MinimumRowsAtPoints ? null
            : new PointMatch(new DriftReference(rows.Select(i => Features[i]).ToArray(), rows.Select(i => Scores[i]).ToArray(), rows.Select(i => Points[i]).ToArray()),
                common.SelectMany(g => g).Order().ToArray());
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
    /// A student's attendance inputs as the model was trained to see them: training examples were cut at a
    /// random school day 20–30, so live students are measured over their last 20–30 school days (the length
    /// fixed per student by a hash of the id). A count such as days enrolled then does not drift merely
    /// because the year goes on, and a real change in behaviour or recording shows.
    /// </summary>
    public static float[] MonitoringWindow(string studentId, IEnumerable<SchoolDay> days, int minimumDays = 20, int maximumDays = 30)
    {
        var ordered = days.OrderBy(d => d.Date).ToArray();
        var length = minimumDays + (int)(StableHash(studentId) % (uint)(maximumDays - minimumDays + 1));
        return AttendanceFeatures.Compute(ordered.Skip(Math.Max(0, ordered.Length - length)));
    }

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
