using System.Globalization;
using System.Text;

namespace Beacon.RiskModels;

/// <summary>Markdown tables of a training run, as printed by the CLI and pasted into bench/RESULTS.md.</summary>
public static class ReportFormatter
{
    public static string Markdown(TrainingResult result)
    {
        var s = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        s.AppendLine(inv, $"data: {result.Data.Source}");
        s.AppendLine(inv, $"split: {result.Data.SplitDescription}");
        s.AppendLine(inv, $"threshold: {result.ThresholdRule}; baseline: {result.Data.Baseline.Description}");
        s.AppendLine();
        s.AppendLine("| scorer | n | positives | AUC | PR-AUC | threshold | flagged | precision | recall | precision@top10% | ECE |");
        s.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in result.Models.Select(m => m.Report).Append(result.Baseline))
        {
            s.AppendLine(inv, $"| {r.Name} | {r.Examples} | {r.Positives} | {r.Auc:F3} | {r.PrAuc:F3} | {(double.IsNaN(r.Threshold) ? "rule" : r.Threshold.ToString("F3", inv))} | {r.FlaggedShare:P1} | {r.Precision:F3} | {r.Recall:F3} | {r.PrecisionAtTop10:F3} | {r.ExpectedCalibrationError:F3} |");
        }
        s.AppendLine();
        foreach (var model in result.Models)
        {
            s.AppendLine(inv, $"{model.Algorithm} {(result.BeatsBaseline(model) ? "beats" : "does NOT beat")} the rule baseline on held-out AUC ({model.Report.Auc:F3} vs {result.Baseline.Auc:F3}).");
        }
        var fastTree = result.Models.Single(m => m.Algorithm == Algorithms.FastTree);
        var logistic = result.Models.Single(m => m.Algorithm == Algorithms.LogisticRegression);
        if (fastTree.Settings is { } settings)
        {
            s.AppendLine(inv, $"{Algorithms.FastTree} size, chosen on the calibration slice: {settings}.");
        }
        s.AppendLine(inv, $"served: {result.Choice?.Description ?? Algorithms.FastTree}.");
        s.AppendLine(inv, $"{Algorithms.FastTree} {(fastTree.Report.Auc > logistic.Report.Auc ? "beats" : "does NOT beat")} logistic regression on held-out AUC ({fastTree.Report.Auc:F3} vs {logistic.Report.Auc:F3}) and precision at the top 10 % ({fastTree.Report.PrecisionAtTop10:F3} vs {logistic.Report.PrecisionAtTop10:F3}).");
        AppendByPoint(s, result, inv);
        s.AppendLine();
        s.AppendLine("reliability (held-out, 10 equal-width bins; count / mean predicted / observed):");
        s.AppendLine();
        s.AppendLine("| bin | " + string.Join(" | ", result.Models.Select(m => m.Algorithm).Append(Algorithms.Rule)) + " |");
        s.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---|", result.Models.Count + 1)));
        var reports = result.Models.Select(m => m.Report).Append(result.Baseline).ToArray();
        for (var b = 0; b < reports[0].Reliability.Count; b++)
        {
            var bin = reports[0].Reliability[b];
            s.Append(inv, $"| {bin.Low:F1}–{bin.High:F1} |");
            foreach (var r in reports)
            {
                var x = r.Reliability[b];
                s.Append(inv, $" {x.Count} / {x.MeanPredicted:F3} / {x.ObservedRate:F3} |");
            }
            s.AppendLine();
        }
        return s.ToString();
    }

    /// <summary>AUC and precision at the top 10 % by stretch of the year, when the held-out examples were cut at several points.</summary>
    private static void AppendByPoint(StringBuilder s, TrainingResult result, CultureInfo inv)
    {
        var reports = result.Models.Select(m => m.Report).Append(result.Baseline).ToArray();
        if (reports.Any(r => r.ByPoint is null))
        {
            return;
        }
        s.AppendLine();
        s.AppendLine("by point of the year (held-out examples cut in each stretch; AUC / precision@top10% / flagged at the threshold / precision of those flagged):");
        s.AppendLine();
        s.AppendLine("| points | n | positives | " + string.Join(" | ", reports.Select(r => r.Name)) + " |");
        s.AppendLine("|---|---|---|" + string.Concat(Enumerable.Repeat("---|", reports.Length)));
        for (var k = 0; k < reports[0].ByPoint!.Count; k++)
        {
            var segment = reports[0].ByPoint![k];
            s.Append(inv, $"| {segment.Points} | {segment.Examples} | {segment.Positives} |");
            foreach (var r in reports)
            {
                var x = r.ByPoint![k];
                s.Append(inv, $" {x.Auc:F3} / {x.PrecisionAtTop10:F3} / {x.FlaggedShare:P1} / {x.Precision:F3} |");
            }
            s.AppendLine();
        }
    }
}
