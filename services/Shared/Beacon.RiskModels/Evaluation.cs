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
    IReadOnlyList<ReliabilityBin> Reliability);

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
    public static BinaryReport Report(string name, IReadOnlyList<double> scores, IReadOnlyList<double> probabilities,
        IReadOnlyList<bool> labels, double threshold, IReadOnlyList<bool>? flags = null)
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
            ReliabilityTable(probabilities, labels));
    }
}
