using Beacon.Interventions.Domain;
using Xunit.Abstractions;

namespace Beacon.Interventions.Tests;

/// <summary>The effect estimate on simulated schools with a planted effect (see <see cref="EffectSimulator"/>).</summary>
public sealed class EffectEstimatorTests(ITestOutputHelper output)
{
    private static Dictionary<string, EffectRow> Run(int seed, int windowWeeks = 2)
    {
        var sim = new EffectSimulator(seed);
        return EffectEstimator.Estimate(sim.Treated, sim.Days, sim.FirstCaseOpened, new EffectSettings(WindowWeeks: windowWeeks))
            .ToDictionary(r => r.InterventionType);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void The_interval_contains_the_planted_effect_and_the_null_effect(int windowWeeks)
    {
        var rows = Run(seed: 2026, windowWeeks);
        foreach (var r in rows.Values)
        {
            output.WriteLine($"window {windowWeeks} wk, {r.InterventionType}: n={r.Cases} (excluded {r.Excluded}), mean change {r.MeanChange:+0.000;-0.000}, comparison {r.ComparisonChange:+0.000;-0.000}, difference {r.Difference:+0.000;-0.000}, 95 % CI [{r.CiLow:+0.000;-0.000}, {r.CiHigh:+0.000;-0.000}]");
        }
        var outreach = rows["attendance-outreach"];
        // A case whose school has no comparable student (within the caliper) is excluded and counted as such.
        Assert.Equal(50, outreach.Cases + outreach.Excluded);
        Assert.InRange(outreach.Cases, 45, 50);
        Assert.InRange(EffectSimulator.OutreachEffect, outreach.CiLow!.Value, outreach.CiHigh!.Value);
        var tutoring = rows["tutoring"];
        Assert.InRange(EffectSimulator.TutoringEffect, tutoring.CiLow!.Value, tutoring.CiHigh!.Value);
        // The interval is narrow enough to tell the two apart.
        Assert.True(outreach.CiLow > tutoring.CiHigh || outreach.Difference - tutoring.Difference > 0.05);
    }

    [Fact]
    public void Over_many_simulated_districts_the_estimate_is_unbiased_and_the_interval_covers_the_truth()
    {
        const int runs = 200;
        var estimates = new List<double>();
        var naive = new List<double>();
        var covered = 0;
        for (var seed = 0; seed < runs; seed++)
        {
            var r = Run(seed)["attendance-outreach"];
            estimates.Add(r.Difference);
            naive.Add(r.MeanChange);
            covered += r.CiLow <= EffectSimulator.OutreachEffect && EffectSimulator.OutreachEffect <= r.CiHigh ? 1 : 0;
        }
        var coverage = (double)covered / runs;
        output.WriteLine($"{runs} simulated districts, planted effect {EffectSimulator.OutreachEffect:0.000}: mean estimate {estimates.Average():0.0000}, " +
            $"95 % CI coverage {coverage:P1}, naive before/after mean {naive.Average():0.0000}");
        Assert.InRange(estimates.Average(), EffectSimulator.OutreachEffect - 0.01, EffectSimulator.OutreachEffect + 0.01);
        Assert.InRange(coverage, 0.88, 1.0);
        // Without the comparison group the flu wave would hide part of the effect.
        Assert.True(naive.Average() < EffectSimulator.OutreachEffect - 0.015);
    }

    [Fact]
    public void A_case_without_enough_attendance_around_its_start_is_excluded_not_counted()
    {
        var start = new DateOnly(2026, 10, 12);
        var treated = new List<TreatedCase> { new(Guid.NewGuid(), "t", "s", "tutoring", start) };
        var days = new List<AttendanceFact> { new("t", "s", start, true), new("c", "s", start, true) };
        var row = Assert.Single(EffectEstimator.Estimate(treated, days, new Dictionary<string, DateOnly>(), new EffectSettings()));
        Assert.Equal(0, row.Cases);
        Assert.Equal(1, row.Excluded);
        Assert.Null(row.CiLow);
    }
}
