using Beacon.RiskModels.Attendance;

namespace Beacon.RiskModels.Monitoring;

/// <summary>
/// What the model saw in training, kept on its card as the drift reference: a sample of the
/// calibration slice's inputs and the served model's calibrated scores on the same rows.
/// </summary>
public sealed record DriftReference(IReadOnlyList<float[]> Features, IReadOnlyList<double> Scores)
{
    /// <summary>Enough rows for stable deciles while keeping the card small.</summary>
    public const int MaximumRows = 2000;

    public static DriftReference From(IReadOnlyList<LabelledExample> rows, IReadOnlyList<double> scores)
    {
        var take = Math.Min(MaximumRows, Math.Min(rows.Count, scores.Count));
        return new DriftReference(rows.Take(take).Select(r => r.Features).ToArray(), scores.Take(take).Select(s => Math.Round(s, 5)).ToArray());
    }
}

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
