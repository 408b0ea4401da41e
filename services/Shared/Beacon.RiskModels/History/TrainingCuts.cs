namespace Beacon.RiskModels.History;

/// <summary>
/// The points a training student is cut at when a model is trained for one scoring point from few students (one district):
/// the scoring point and two earlier ones, at a third and two thirds of it. The same students are seen with less of the year
/// shown, which teaches the model how each signal weighs as it accumulates (measured: bench/RESULTS.md, "Learning from one
/// district"); only earlier points, so nothing dated after the scoring point is read, and only training students: the held-out
/// students are scored at the point alone. The trainer keeps a student's rows on one side of its calibration split and
/// calibrates on the scoring point's rows only (<see cref="TrainingOptions.ScoredAt"/>).
/// </summary>
public static class TrainingCuts
{
    /// <summary>Earlier cuts come no sooner than this school day (before it a student has hardly a signal).</summary>
    public const int FirstDay = 5;

    /// <summary>The school days to cut each training student at for a model scored at <paramref name="scoringDay"/>, ascending.</summary>
    public static IReadOnlyList<int> For(int scoringDay) =>
        [.. new[] { scoringDay / 3, 2 * scoringDay / 3 }.Where(d => d >= FirstDay && d < scoringDay).Append(scoringDay).Distinct()];
}
