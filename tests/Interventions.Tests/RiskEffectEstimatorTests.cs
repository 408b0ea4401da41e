using Beacon.Interventions.Domain;
using Xunit.Abstractions;

namespace Beacon.Interventions.Tests;

/// <summary>
/// The risk-score effect of cases on simulated schools with a planted effect (<see cref="EffectSimulator.RiskPoints"/>):
/// outreach lowers the chronic-absence score by 0.08, tutoring does nothing, and nothing moves the dropout score, while a
/// flu wave raises everyone's score in the middle of the windows.
/// </summary>
public sealed class RiskEffectEstimatorTests(ITestOutputHelper output)
{
    private static Dictionary<(string Kind, string Type), EffectRow> Run(int seed, int windowWeeks = 2)
    {
        var sim = new EffectSimulator(seed);
        return RiskEffectEstimator.Estimate(sim.Treated, sim.RiskPoints(), sim.FirstCaseOpened, new RiskEffectSettings(WindowWeeks: windowWeeks))
            .ToDictionary(r => (r.Kind, r.Effect.InterventionType), r => r.Effect);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void The_interval_contains_the_planted_effect_and_no_effect_where_none_was_planted(int windowWeeks)
    {
        var rows = Run(seed: 2026, windowWeeks);
        foreach (var ((kind, type), r) in rows)
        {
            output.WriteLine($"window {windowWeeks} wk, {kind}, {type}: n={r.Cases} (excluded {r.Excluded}), change {r.MeanChange:+0.000;-0.000}, comparison {r.ComparisonChange:+0.000;-0.000}, difference {r.Difference:+0.000;-0.000}, 95 % CI [{r.CiLow:+0.000;-0.000}, {r.CiHigh:+0.000;-0.000}]");
        }
        Assert.Equal(4, rows.Count);   // two kinds × two types
        var outreach = rows[("chronic-absence", "attendance-outreach")];
        Assert.Equal(50, outreach.Cases + outreach.Excluded);
        Assert.InRange(outreach.Cases, 45, 50);
        Assert.InRange(EffectSimulator.OutreachRiskEffect, outreach.CiLow!.Value, outreach.CiHigh!.Value);
        Assert.True(outreach.CiHigh < 0, "the planted drop in risk is told apart from none");
        foreach (var none in new[] { rows[("chronic-absence", "tutoring")], rows[("dropout", "attendance-outreach")], rows[("dropout", "tutoring")] })
        {
            Assert.InRange(0, none.CiLow!.Value, none.CiHigh!.Value);
        }
    }

    [Fact]
    public void Over_many_simulated_districts_the_estimate_is_unbiased_and_the_interval_covers_the_truth()
    {
        const int runs = 100;
        var estimates = new List<double>();
        var nulls = new List<double>();
        var naive = new List<double>();
        var (covered, nullCovered) = (0, 0);
        for (var seed = 0; seed < runs; seed++)
        {
            var rows = Run(seed);
            var r = rows[("chronic-absence", "attendance-outreach")];
            estimates.Add(r.Difference);
            naive.Add(r.MeanChange);
            covered += r.CiLow <= EffectSimulator.OutreachRiskEffect && EffectSimulator.OutreachRiskEffect <= r.CiHigh ? 1 : 0;
            var n = rows[("chronic-absence", "tutoring")];
            nulls.Add(n.Difference);
            nullCovered += n.CiLow <= 0 && 0 <= n.CiHigh ? 1 : 0;
        }
        output.WriteLine($"{runs} simulated districts, planted {EffectSimulator.OutreachRiskEffect:0.000}: mean estimate {estimates.Average():0.0000}, "
            + $"coverage {covered / (double)runs:P1}; no effect planted: mean {nulls.Average():0.0000}, coverage {nullCovered / (double)runs:P1}");
        // Each estimate's standard error is about 0.01, so the mean of 100 is within 0.003 of the truth unless biased.
        Assert.InRange(estimates.Average(), EffectSimulator.OutreachRiskEffect - 0.005, EffectSimulator.OutreachRiskEffect + 0.005);
        Assert.InRange(nulls.Average(), -0.005, 0.005);
        Assert.InRange(covered / (double)runs, 0.88, 1.0);
        Assert.InRange(nullCovered / (double)runs, 0.88, 1.0);
        // The flu wave raised everyone's score: the cases' own change hides part of the effect; the comparison takes it out.
        Assert.True(naive.Average() > EffectSimulator.OutreachRiskEffect + 0.02, $"naive change {naive.Average():0.000}");
    }

    [Fact]
    public void A_case_without_a_score_after_its_start_or_without_a_comparable_student_is_excluded_not_counted()
    {
        var start = new DateOnly(2026, 10, 12);
        var treated = new List<TreatedCase> { new(Guid.NewGuid(), "t", "s", "tutoring", start), new(Guid.NewGuid(), "u", "s", "tutoring", start) };
        var points = new List<RiskPoint>
        {
            // t: scored before the start only. u: before and after, but its one possible comparison scored far from it.
            new("t", "s", "dropout", start.AddDays(-1), 0.4),
            new("u", "s", "dropout", start.AddDays(-3), 0.4), new("u", "s", "dropout", start.AddDays(13), 0.3),
            new("c", "s", "dropout", start.AddDays(-3), 0.1), new("c", "s", "dropout", start.AddDays(13), 0.1),
        };
        var row = Assert.Single(RiskEffectEstimator.Estimate(treated, points, new Dictionary<string, DateOnly>(), new RiskEffectSettings()));
        Assert.Equal(("dropout", 0, 2), (row.Kind, row.Effect.Cases, row.Effect.Excluded));
        // A score more than MaxAgeDays old does not stand for the start: with c close enough, u is measured; with stale scores, not.
        points[3] = points[3] with { Score = 0.42 };
        Assert.Equal(1, RiskEffectEstimator.Estimate(treated, points, new Dictionary<string, DateOnly>(), new RiskEffectSettings()).Single().Effect.Cases);
        Assert.Equal(0, RiskEffectEstimator.Estimate(treated, points, new Dictionary<string, DateOnly>(), new RiskEffectSettings(MaxAgeDays: 2)).Single().Effect.Cases);
    }
}
