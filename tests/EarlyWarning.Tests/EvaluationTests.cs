using Beacon.RiskModels;

namespace Beacon.EarlyWarning.Tests;

public sealed class EvaluationTests
{
    [Fact]
    public void Expected_calibration_error_on_a_known_case()
    {
        // Bin [0.1, 0.2): four at 0.1, one positive -> |0.10 - 0.25| = 0.15, weight 4/8.
        // Bin 0.9–1.0: four at 0.9, all positive -> |0.90 - 1.00| = 0.10, weight 4/8.
        double[] p = [0.1, 0.1, 0.1, 0.1, 0.9, 0.9, 0.9, 0.9];
        bool[] y = [true, false, false, false, true, true, true, true];
        Assert.Equal(0.5 * 0.15 + 0.5 * 0.10, Evaluation.ExpectedCalibrationError(p, y), 10);

        var table = Evaluation.ReliabilityTable(p, y);
        Assert.Equal(10, table.Count);
        Assert.Equal(4, table[1].Count);
        Assert.Equal(0.25, table[1].ObservedRate, 10);
        Assert.Equal(4, table[9].Count);
    }

    [Fact]
    public void Perfectly_calibrated_predictions_have_zero_error_and_a_probability_of_one_lands_in_the_last_bin()
    {
        double[] p = [0.25, 0.25, 0.25, 0.25, 1.0];
        bool[] y = [true, false, false, false, true];
        Assert.Equal(0, Evaluation.ExpectedCalibrationError(p, y), 10);
        Assert.Equal(1, Evaluation.ReliabilityTable(p, y)[9].Count);
    }

    [Fact]
    public void Auc_counts_ties_as_half_and_is_one_for_a_perfect_ranking()
    {
        Assert.Equal(1.0, Evaluation.Auc([0.1, 0.2, 0.8, 0.9], [false, false, true, true]), 10);
        Assert.Equal(0.0, Evaluation.Auc([0.9, 0.8, 0.2, 0.1], [false, false, true, true]), 10);
        Assert.Equal(0.5, Evaluation.Auc([0.5, 0.5, 0.5, 0.5], [false, true, false, true]), 10);
        // Positives at 0.4 and 0.8; negatives at 0.1 and 0.4 -> pairs: (0.4 vs 0.1)=1, (0.4 vs 0.4)=.5, (0.8 vs both)=2 -> 3.5/4.
        Assert.Equal(0.875, Evaluation.Auc([0.1, 0.4, 0.4, 0.8], [false, false, true, true]), 10);
        Assert.True(double.IsNaN(Evaluation.Auc([0.1, 0.2], [true, true])));
    }

    [Fact]
    public void Average_precision_on_a_known_ranking()
    {
        // Ranked: +, -, + -> precision at each positive: 1/1 and 2/3 -> (1 + 2/3) / 2.
        Assert.Equal((1 + 2.0 / 3) / 2, Evaluation.AveragePrecision([0.9, 0.5, 0.1], [true, false, true]), 10);
    }

    [Fact]
    public void Threshold_for_top_share_flags_that_share_and_report_counts_precision_and_recall()
    {
        var scores = Enumerable.Range(1, 100).Select(i => i / 100.0).ToArray();
        var labels = scores.Select(s => s > 0.85).ToArray();   // 15 positives
        var threshold = Evaluation.ThresholdForTopShare(scores, 0.10);
        Assert.Equal(0.91, threshold, 10);
        var report = Evaluation.Report("x", scores, scores, labels, threshold);
        Assert.Equal(0.10, report.FlaggedShare, 10);
        Assert.Equal(1.0, report.Precision, 10);
        Assert.Equal(10.0 / 15, report.Recall, 10);
        Assert.Equal(1.0, report.PrecisionAtTop10, 10);
    }
}
