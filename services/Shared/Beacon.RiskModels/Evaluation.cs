namespace Beacon.RiskModels;

/// <summary>One row of a reliability table: predictions in [Low, High) against what happened.</summary>
public sealed record ReliabilityBin(double Low, double High, int Count, double MeanPredicted, double ObservedRate);

/// <summary>Held-out figures for one scorer (a model or the rule baseline), all computed the same way.</summary>
public sealed record BinaryReport(
    string Name,
    int Examples,
    int Positives,
    double Auc,
    double PrAuc,
    double Threshold,
    double FlaggedShare,
    double Precision,
    double Recall,
    double PrecisionAtTop10,
    double ExpectedCalibrationError,
    IReadOnlyList<ReliabilityBin> Reliability,
    IReadOnlyList<PointSegment>? ByPoint = null);

/// <summary>
/// Held-out figures of the examples cut in one stretch of the year ("school days 10–36"): a model served all year is measured
/// early, mid and late, where one figure over all points would hide a weak start behind easy late examples.
/// </summary>
public sealed record PointSegment(string Points, int Examples, int Positives, double Auc, double PrecisionAtTop10, double FlaggedShare, double Precision);

/// <summary>Ranking and calibration metrics, written out so models and the rule baseline are measured identically.</summary>
public static class Evaluation
{
    /// <summary>Area under the ROC curve (Mann–Whitney, ties count one half).</summary>
    public static double Auc(IReadOnlyList<double> scores, IReadOnlyList<bool> labels)
    {
        var order = Enumerable.Range(0, scores.Count).OrderBy(i => scores[i]).ToArray();
        double rankSumPositives = 0;
        long positives = 0;
        var i = 0;
        while (i < order.Length)
        {
            var j = i;
            while (j + 1 < order.Length && scores[order[j + 1]] == scores[order[i]])
            {
                j++;
            }
            var averageRank = (i + j) / 2.0 + 1;   // 1-based rank shared by the tie group
            for (var k = i; k <= j; k++)
            {
                if (labels[order[k]])
                {
                    rankSumPositives += averageRank;
                    positives++;
                }
            }
            i = j + 1;
        }
        long negatives = scores.Count - positives;
        if (positives == 0 || negatives == 0)
        {
            return double.NaN;
        }
        return (rankSumPositives - positives * (positives + 1) / 2.0) / ((double)positives * negatives);
    }

    /// <summary>Area under the precision–recall curve as average precision; tied scores enter together.</summary>
    public static double AveragePrecision(IReadOnlyList<double> scores, IReadOnlyList<bool> labels)
    {
        var totalPositives = labels.Count(l => l);
        if (totalPositives == 0)
        {
            return double.NaN;
        }
        var order = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
        double ap = 0, previousRecall = 0;
        int truePositives = 0, seen = 0, i = 0;
        while (i < order.Length)
        {
            var j = i;
            while (j + 1 < order.Length && scores[order[j + 1]] == scores[order[i]])
            {
                j++;
            }
            for (var k = i; k <= j; k++)
            {
                seen++;
                if (labels[order[k]])
                {
                    truePositives++;
                }
            }
            var recall = (double)truePositives / totalPositives;
            ap += (recall - previousRecall) * truePositives / seen;
            previousRecall = recall;
            i = j + 1;
        }
        return ap;
    }

    /// <summary>Equal-width bins over [0, 1]; the last bin includes 1.</summary>
    public static IReadOnlyList<ReliabilityBin> ReliabilityTable(IReadOnlyList<double> probabilities, IReadOnlyList<bool> labels, int bins = 10)
    {
        var table = new List<ReliabilityBin>(bins);
        for (var b = 0; b < bins; b++)
        {
            double low = (double)b / bins, high = (double)(b + 1) / bins;
            int count = 0, positives = 0;
            double sum = 0;
            for (var i = 0; i < probabilities.Count; i++)
            {
                var p = probabilities[i];
                var inBin = p >= low && (p < high || (b == bins - 1 && p <= high));
                if (inBin)
                {
                    count++;
                    sum += p;
                    positives += labels[i] ? 1 : 0;
                }
            }
            table.Add(new ReliabilityBin(low, high, count, count == 0 ? 0 : sum / count, count == 0 ? 0 : (double)positives / count));
        }
        return table;
    }

    /// <summary>Expected calibration error: the count-weighted mean gap between predicted and observed rates.</summary>
    public static double ExpectedCalibrationError(IReadOnlyList<double> probabilities, IReadOnlyList<bool> labels, int bins = 10)
    {
        var table = ReliabilityTable(probabilities, labels, bins);
        var n = probabilities.Count;
        return n == 0 ? double.NaN : table.Sum(b => b.Count * Math.Abs(b.MeanPredicted - b.ObservedRate)) / n;
    }

    /// <summary>The score at or above which the top <paramref name="share"/> of examples lie.</summary>
    public static double ThresholdForTopShare(IReadOnlyList<double> scores, double share)
    {
        if (scores.Count == 0)
        {
            throw new ArgumentException("No scores to choose a threshold from.", nameof(scores));
        }
        var sorted = scores.OrderByDescending(s => s).ToArray();
        var k = Math.Clamp((int)Math.Ceiling(share * sorted.Length), 1, sorted.Length);
        return sorted[k - 1];
    }

    /// <summary>
    /// The lowest threshold whose flagged set (score ≥ threshold) still has precision ≥ <paramref name="minimumPrecision"/>,
    /// so as many true cases as possible are flagged at that precision; null when no set of at least
    /// <paramref name="minimumFlagged"/> students reaches it (a precision from a handful is not evidence).
    /// </summary>
    public static double? ThresholdForPrecision(IReadOnlyList<double> scores, IReadOnlyList<bool> labels, double minimumPrecision, int minimumFlagged = 10)
    {
        var order = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
        double? best = null;
        var truePositives = 0;
        for (var k = 0; k < order.Length; k++)
        {
            truePositives += labels[order[k]] ? 1 : 0;
            var atTieBoundary = k == order.Length - 1 || scores[order[k + 1]] < scores[order[k]];
            if (atTieBoundary && k + 1 >= minimumFlagged && (double)truePositives / (k + 1) >= minimumPrecision)
            {
                best = scores[order[k]];
            }
        }
        return best;
    }

    /// <summary>Precision and share of students flagged at a threshold (score ≥ threshold).</summary>
    public static (double Precision, double FlaggedShare) AtThreshold(IReadOnlyList<double> scores, IReadOnlyList<bool> labels, double threshold)
    {
        var flagged = Enumerable.Range(0, scores.Count).Where(i => scores[i] >= threshold).ToArray();
        return (flagged.Length == 0 ? 0 : (double)flagged.Count(i => labels[i]) / flagged.Length, scores.Count == 0 ? 0 : (double)flagged.Length / scores.Count);
    }

    /// <summary>Precision among the top share by score (ties broken by input order, so exactly that many are taken).</summary>
    public static double PrecisionAtTop(IReadOnlyList<double> scores, IReadOnlyList<bool> labels, double share)
    {
        var k = Math.Max(1, (int)Math.Ceiling(share * scores.Count));
        var top = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).Take(k);
        return (double)top.Count(i => labels[i]) / k;
    }

    /// <param name="flags">Who is flagged; null means probability at or above the threshold.</param>
    /// <param name="points">Each example's point of the year, where the data knows it: the figures are then also given by stretch of the year.</param>
    public static BinaryReport Report(string name, IReadOnlyList<double> scores, IReadOnlyList<double> probabilities,
        IReadOnlyList<bool> labels, double threshold, IReadOnlyList<bool>? flags = null, IReadOnlyList<int?>? points = null)
    {
        int truePositives = 0, flagged = 0;
        for (var i = 0; i < scores.Count; i++)
        {
            if (flags?[i] ?? probabilities[i] >= threshold)
            {
                flagged++;
                truePositives += labels[i] ? 1 : 0;
            }
        }
        var positives = labels.Count(l => l);
        return new BinaryReport(
            name,
            labels.Count,
            positives,
            Auc(scores, labels),
            AveragePrecision(scores, labels),
            threshold,
            labels.Count == 0 ? 0 : (double)flagged / labels.Count,
            flagged == 0 ? 0 : (double)truePositives / flagged,
            positives == 0 ? 0 : (double)truePositives / positives,
            PrecisionAtTop(scores, labels, 0.10),
            ExpectedCalibrationError(probabilities, labels),
            ReliabilityTable(probabilities, labels),
            points is null ? null : ByPoint(scores, labels, points, Enumerable.Range(0, scores.Count).Select(i => flags?[i] ?? probabilities[i] >= threshold).ToArray()));
    }

    /// <summary>
    /// The early line of a model trained across the year: for each school day 1..n, the score that flags the top
    /// <paramref name="share"/> of the calibration rows cut within <see cref="EarlyLineDays"/> school days of it (days before the
    /// first point trained at take the first point's), where that is below <paramref name="threshold"/>, kept from falling as
    /// the days go on. A calibrated model is unsure early in the term (few days recorded), so its probabilities there rarely
    /// reach a line chosen on the first third of the term: the line flags the most at risk at each early day, as the share
    /// says, while the single threshold takes over once it flags more. Null when the rows carry no points or the line never
    /// goes under the threshold.
    /// </summary>
    public static IReadOnlyList<double>? EarlyLine(IReadOnlyList<int?> points, IReadOnlyList<double> scores, double share, double threshold)
    {
        if (points.Count == 0 || points.Any(p => p is null))
        {
            return null;
        }
        var (first, last) = (points.Min()!.Value, points.Max()!.Value);
        var line = new List<double>();
        for (var day = 1; day <= last; day++)
        {
            var at = Math.Max(day, first);
            var near = Enumerable.Range(0, points.Count).Where(i => Math.Abs(points[i]!.Value - at) <= EarlyLineDays).Select(i => scores[i]).ToArray();
            var here = near.Length < 10 ? threshold : Math.Min(threshold, ThresholdForTopShare(near, share));
            line.Add(Math.Max(here, line.Count > 0 ? line[^1] : 0));
        }
        // Where it has reached the threshold it stays there: the rest of the year uses the threshold alone.
        var kept = line.TakeWhile(t => t < threshold).ToArray();
        return kept.Length == 0 ? null : kept;
    }

    /// <summary>The early line pools the rows cut this many school days either side of each day (a card has a few dozen a day).</summary>
    public const int EarlyLineDays = 5;

    /// <summary>The line at a point of the year (school day, 1 = the first): the early line's value there, else the threshold.</summary>
    public static double LineAt(IReadOnlyList<double>? earlyLine, double threshold, int point) =>
        earlyLine is not null && point >= 1 && point <= earlyLine.Count ? Math.Min(threshold, earlyLine[point - 1]) : threshold;

    /// <summary>
    /// Equal stretches of the span of points (thirds: early, mid, late), or null when the examples carry no points or all sit at
    /// one (nothing to split).
    /// </summary>
    public static IReadOnlyList<(int From, int To)>? Stretches(IReadOnlyList<int?> points, int segments = 3)
    {
        if (points.Count == 0 || points.Any(p => p is null) || points.Min() == points.Max())
        {
            return null;
        }
        var (first, last) = (points.Min()!.Value, points.Max()!.Value);
        var width = (last - first + 1) / (double)segments;
        return Enumerable.Range(0, segments).Select(k => (first + (int)Math.Ceiling(k * width), first + (int)Math.Ceiling((k + 1) * width) - 1)).ToArray();
    }

    /// <summary>The figures in each of the <see cref="Stretches"/>, or null when there are none.</summary>
    /// <param name="flagged">Who the scorer flags (at its threshold, or by its rule).</param>
    public static IReadOnlyList<PointSegment>? ByPoint(IReadOnlyList<double> scores, IReadOnlyList<bool> labels, IReadOnlyList<int?> points,
        IReadOnlyList<bool> flagged) =>
        Stretches(points)?.Select(stretch =>
        {
            var rows = Enumerable.Range(0, points.Count).Where(i => points[i] >= stretch.From && points[i] <= stretch.To).ToArray();
            var (s, l) = (rows.Select(i => scores[i]).ToArray(), rows.Select(i => labels[i]).ToArray());
            var hits = rows.Where(i => flagged[i]).ToArray();
            return new PointSegment(Monitoring.DriftReference.Range(stretch.From, stretch.To), rows.Length, l.Count(x => x), Auc(s, l),
                rows.Length == 0 ? 0 : PrecisionAtTop(s, l, 0.10), rows.Length == 0 ? 0 : (double)hits.Length / rows.Length,
                hits.Length == 0 ? 0 : (double)hits.Count(i => labels[i]) / hits.Length);
        }).ToArray();
}
