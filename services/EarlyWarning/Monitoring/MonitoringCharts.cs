using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels;
using Beacon.RiskModels.Monitoring;
using Microsoft.EntityFrameworkCore;
using ScottPlot;

namespace Beacon.EarlyWarning.Monitoring;

/// <summary>The monitoring charts as SVG (ScottPlot): drift over time, FPR over time, reliability diagram, subgroup gaps.</summary>
public sealed class MonitoringCharts(EarlyWarningDbContext db, MonitoringReport report)
{
    public static readonly string[] Names = ["drift.svg", "fpr.svg", "reliability.svg", "fairness.svg"];

    private const int Width = 800;
    private const int Height = 450;

    /// <param name="reference">drift.svg only: one reference's runs (<see cref="DriftReferences"/>), or both when null.</param>
    public Task<string> SvgAsync(string chart, string kind, CancellationToken ct, string? reference = null) => chart switch
    {
        "drift.svg" => DriftAsync(kind, reference, ct),
        "fpr.svg" => FalsePositiveRateAsync(kind, ct),
        "reliability.svg" => ReliabilityAsync(kind, ct),
        "fairness.svg" => FairnessAsync(kind, ct),
        _ => throw new ModelRegistryException($"No chart '{chart}': use {string.Join(", ", Names)}.", notFound: true),
    };

    private async Task<string> DriftAsync(string kind, string? reference, CancellationToken ct)
    {
        if (reference is not (null or DriftReferences.Baseline or DriftReferences.Training))
        {
            throw new MonitoringValidationException(new Dictionary<string, string[]>
            {
                ["reference"] = [$"'{DriftReferences.Baseline}' or '{DriftReferences.Training}' (or none for both); got '{reference}'."],
            });
        }
        // A run that measured nothing (a week without school) has no PSI to plot.
        var runs = await db.DriftRuns.AsNoTracking().Where(r => r.Kind == kind && r.Note == null && (reference == null || r.Reference == reference)).ToListAsync(ct);
        return DriftSvg(kind, runs, reference);
    }

    /// <summary>
    /// Score PSI per check against each reference, over the checks' dates, on the PSI bands in traffic-light colours
    /// (stable green below 0.10, moderate amber to 0.25, significant red above); the value axis starts at 0 and shows
    /// the significant band even when every check is stable. One reference alone gets a value axis of its own: against
    /// the training sample a model served outside what it learnt reaches a PSI of several units over a term, which would
    /// flatten the baseline's (the one that alarms) into the bottom band.
    /// </summary>
    public static string DriftSvg(string kind, IReadOnlyCollection<DriftRun> runs, string? reference = null)
    {
        var plot = new Plot();
        var top = Math.Max(0.35, runs.Count == 0 ? 0 : runs.Max(r => r.ScorePsi) * 1.1);
        plot.Add.HorizontalSpan(0, 0.10, Colors.Green.WithAlpha(0.15)).LegendText = "stable (below 0.10)";
        plot.Add.HorizontalSpan(0.10, 0.25, Colors.Orange.WithAlpha(0.2)).LegendText = "moderate (0.10–0.25)";
        plot.Add.HorizontalSpan(0.25, top, Colors.Red.WithAlpha(0.15)).LegendText = "significant (above 0.25)";
        foreach (var against in new[] { DriftReferences.Baseline, DriftReferences.Training })
        {
            var line = runs.Where(r => r.Reference == against).OrderBy(r => r.AsOf).ToArray();
            if (line.Length > 0)
            {
                var scatter = plot.Add.Scatter(line.Select(r => r.AsOf.ToDateTime(TimeOnly.MinValue).ToOADate()).ToArray(), line.Select(r => r.ScorePsi).ToArray());
                scatter.LegendText = $"score PSI against the {against}";
            }
        }
        TimeAxis(plot, runs.Select(r => r.AsOf));
        plot.Axes.SetLimitsY(0, top);
        plot.Title($"{kind}: score drift (PSI) over time" + (reference is null ? "" : $" against the {reference}"));
        plot.YLabel("PSI");
        return Render(plot);
    }

    private async Task<string> FalsePositiveRateAsync(string kind, CancellationToken ct) =>
        FalsePositiveRateSvg(kind, await report.WeeklyAsync(kind, ct));

    /// <summary>Expected and realised false-positive rate per week and model version, on a 0–1 value axis.</summary>
    public static string FalsePositiveRateSvg(string kind, IReadOnlyCollection<WeeklyFigures> weeks)
    {
        var plot = new Plot();
        foreach (var version in weeks.Select(w => w.ModelVersion).Distinct())
        {
            var rows = weeks.Where(w => w.ModelVersion == version).ToArray();
            var x = rows.Select(w => w.WeekStart.ToDateTime(TimeOnly.MinValue).ToOADate()).ToArray();
            var expected = plot.Add.Scatter(x, rows.Select(w => w.ExpectedFalsePositiveRate).ToArray());
            expected.LegendText = $"v{version} expected FPR (from calibrated scores)";
            var realised = rows.Where(w => w.RealisedFalsePositiveRate is not null).ToArray();
            if (realised.Length > 0)
            {
                var line = plot.Add.Scatter(realised.Select(w => w.WeekStart.ToDateTime(TimeOnly.MinValue).ToOADate()).ToArray(),
                    realised.Select(w => w.RealisedFalsePositiveRate!.Value).ToArray());
                line.LegendText = $"v{version} realised FPR (labelled students)";
            }
        }
        TimeAxis(plot, weeks.Select(w => w.WeekStart));
        plot.Axes.SetLimitsY(0, 1);
        plot.Title($"{kind}: false-positive rate per week");
        plot.YLabel("false-positive rate");
        return Render(plot);
    }

    /// <summary>
    /// Dates on the time axis as yyyy-MM-dd, spanning the data with a day either side and at least two weeks, so one
    /// check or one week is a point in a readable fortnight, not a sliver of hours (ScottPlot's own limits for one point).
    /// </summary>
    private static void TimeAxis(Plot plot, IEnumerable<DateOnly> dates)
    {
        var all = dates.ToArray();
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var (first, last) = all.Length == 0 ? (today, today) : (all.Min(), all.Max());
        var from = first.AddDays(-1).ToDateTime(TimeOnly.MinValue);
        var to = last.AddDays(1).ToDateTime(TimeOnly.MinValue);
        if (to - from < TimeSpan.FromDays(14))
        {
            var widen = (TimeSpan.FromDays(14) - (to - from)) / 2;
            (from, to) = (from - widen, to + widen);
        }
        var axis = plot.Axes.DateTimeTicksBottom();
        if (axis.TickGenerator is ScottPlot.TickGenerators.DateTimeAutomatic ticks)
        {
            ticks.LabelFormatter = d => d.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        }
        plot.Axes.SetLimitsX(from.ToOADate(), to.ToOADate());
    }

    private async Task<string> ReliabilityAsync(string kind, CancellationToken ct)
    {
        var version = await db.Models.AsNoTracking().Where(m => m.Kind == kind && m.Status == ModelStatus.Active).Select(m => (int?)m.Version).FirstOrDefaultAsync(ct);
        var labels = await db.Outcomes.AsNoTracking().Where(o => o.Kind == kind).ToDictionaryAsync(o => o.StudentId, ct);
        // Each student's last labelled week of the active version: one point per student.
        var latest = (await db.ScoreSnapshots.AsNoTracking().Where(s => s.Kind == kind && s.ModelVersion == version).ToListAsync(ct))
            .Where(s => labels.TryGetValue(s.StudentId, out var l) && s.WeekStart < l.KnownOn)
            .GroupBy(s => s.StudentId).Select(g => g.MaxBy(s => s.WeekStart)!).ToArray();
        var table = Evaluation.ReliabilityTable(latest.Select(s => s.Score).ToArray(), latest.Select(s => labels[s.StudentId].AtRisk).ToArray());
        var plot = new Plot();
        var diagonal = plot.Add.Line(0, 0, 1, 1);
        diagonal.LegendText = "perfect calibration";
        var bins = table.Where(b => b.Count > 0).ToArray();
        var observed = plot.Add.Scatter(bins.Select(b => b.MeanPredicted).ToArray(), bins.Select(b => b.ObservedRate).ToArray());
        observed.LegendText = $"v{version}: {latest.Length} labelled students";
        plot.Axes.SetLimits(0, 1, 0, 1);
        plot.Title($"{kind}: reliability (ECE {Evaluation.ExpectedCalibrationError(latest.Select(s => s.Score).ToArray(), latest.Select(s => labels[s.StudentId].AtRisk).ToArray()):F3})");
        plot.XLabel("mean predicted probability");
        plot.YLabel("observed rate");
        return Render(plot);
    }

    private async Task<string> FairnessAsync(string kind, CancellationToken ct)
    {
        var view = await report.FairnessAsync(kind, null, null, ct);
        var shown = view.Report.Groups.Where(g => g.Figures is not null).ToArray();
        var plot = new Plot();
        var fpr = new List<Bar>();
        var recall = new List<Bar>();
        var ticks = new List<Tick>();
        for (var i = 0; i < shown.Length; i++)
        {
            fpr.Add(new Bar { Position = i * 3, Value = shown[i].Figures!.FalsePositiveRate ?? 0, FillColor = Colors.OrangeRed });
            recall.Add(new Bar { Position = i * 3 + 1, Value = shown[i].Figures!.Recall ?? 0, FillColor = Colors.SteelBlue });
            ticks.Add(new Tick(i * 3 + 0.5, $"{shown[i].Attribute}={shown[i].Group}"));
        }
        plot.Add.Bars(fpr).LegendText = "false-positive rate";
        plot.Add.Bars(recall).LegendText = "recall";
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
        plot.Axes.Bottom.TickLabelStyle.Rotation = 45;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        var gap = view.Report.Gaps.FirstOrDefault();
        plot.Title(gap is null ? $"{kind}: subgroups (week {view.WeekStart})"
            : $"{kind} week {view.WeekStart}: largest gap {gap.Measure} {gap.Gap:P0} ({gap.Attribute}: {gap.HighestGroup} vs {gap.LowestGroup})");
        return Render(plot, height: 600);
    }

    private static string Render(Plot plot, int height = Height)
    {
        plot.ShowLegend();
        return plot.GetSvgXml(Width, height);
    }
}
