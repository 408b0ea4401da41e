using System.Globalization;
using System.Xml.Linq;
using Beacon.EarlyWarning.Monitoring;
using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels.Monitoring;

namespace Beacon.EarlyWarning.Tests;

/// <summary>
/// The ops charts' axes, read from the SVG the browser shows (issue #25 item 5): time axes fit the data's span, FPR runs
/// 0–1, PSI starts at 0 and shows the significant band, the bands have a legend.
/// </summary>
public sealed class MonitoringChartTests
{
    [Fact]
    public void Drift_over_a_term_has_dated_ticks_within_its_span_a_psi_axis_from_zero_and_the_three_bands_in_the_legend()
    {
        var first = new DateOnly(2026, 9, 7);
        var runs = Enumerable.Range(0, 12).SelectMany(w => new[] { Run(DriftReferences.Baseline, first.AddDays(7 * w), 0.02 * w), Run(DriftReferences.Training, first.AddDays(7 * w), 0.05) }).ToList();
        var svg = MonitoringCharts.DriftSvg("chronic-absence", runs);
        var texts = Texts(svg);

        var dates = Dates(texts);
        Assert.True(dates.Count >= 3, $"date ticks: {string.Join(", ", texts)}");
        Assert.All(dates, d => Assert.InRange(d, first.AddDays(-1), first.AddDays(7 * 11 + 1)));
        Assert.True(dates.Max().DayNumber - dates.Min().DayNumber >= 50, "the ticks cover the term, not a corner of it");
        var values = Numbers(texts);
        Assert.Contains(0.0, values);
        Assert.True(values.Max() >= 0.25, "the significant band is on the axis");
        Assert.Contains(texts, t => t.StartsWith("stable (below 0.10)", StringComparison.Ordinal));
        Assert.Contains(texts, t => t.StartsWith("moderate", StringComparison.Ordinal));
        Assert.Contains(texts, t => t.StartsWith("significant", StringComparison.Ordinal));
    }

    [Fact]
    public void One_check_is_a_point_in_a_readable_fortnight_not_a_sliver_of_hours()
    {
        var day = new DateOnly(2026, 10, 14);
        var dates = Dates(Texts(MonitoringCharts.DriftSvg("dropout", [Run(DriftReferences.Training, day, 0.4)])));
        Assert.True(dates.Count >= 2, "dated ticks, not times of day");
        Assert.All(dates, d => Assert.InRange(d, day.AddDays(-8), day.AddDays(8)));
    }

    [Fact]
    public void The_false_positive_rate_runs_from_0_to_1_over_the_weeks()
    {
        var first = new DateOnly(2026, 9, 7);
        var weeks = Enumerable.Range(0, 8).Select(w => Week(first.AddDays(7 * w), 0.04 + 0.01 * w)).ToList();
        var texts = Texts(MonitoringCharts.FalsePositiveRateSvg("chronic-absence", weeks));
        var values = Numbers(texts);
        Assert.Equal(0, values.Min());
        Assert.Equal(1, values.Max());
        Assert.All(Dates(texts), d => Assert.InRange(d, first.AddDays(-1), first.AddDays(7 * 7 + 1)));
    }

    private static DriftRun Run(string reference, DateOnly asOf, double psi) => new()
    {
        Kind = "chronic-absence",
        Reference = reference,
        AsOf = asOf,
        Trigger = "scheduled",
        ScorePsi = psi,
        ScoreBand = "stable",
        WorstBand = "stable",
    };

    private static WeeklyFigures Week(DateOnly weekStart, double expectedFpr) =>
        new("chronic-absence", 1, weekStart, 3, 1, 1, 0, 100, 10, 50, 8, 0.05, 0.5, 0.5, 0.6, 0.05, 0.4, expectedFpr, 0.6);

    private static List<string> Texts(string svg) =>
        XDocument.Parse(svg).Descendants().Where(e => e.Name.LocalName == "text").Select(e => e.Value.Trim()).Where(t => t.Length > 0).ToList();

    private static List<DateOnly> Dates(IEnumerable<string> texts) =>
        texts.Select(t => DateOnly.TryParseExact(t, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d : (DateOnly?)null)
            .OfType<DateOnly>().ToList();

    private static List<double> Numbers(IEnumerable<string> texts) =>
        texts.Select(t => double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : (double?)null).OfType<double>().ToList();
}
