extern alias Effects;
extern alias Simulator;

using Beacon.Interventions.Domain;
using Effects::Beacon.Effects.Evaluation;
using Simulator::Beacon.Simulator;

namespace Beacon.Interventions.Tests;

/// <summary>
/// The test of change's statistics without servers (issue #27, parts 3 and 6): the stratified assignment is balanced in
/// every stratum and depends only on the eligible set and the seed; over many simulated tests with a planted difference
/// between the arms, the estimate centres on it and the 95 % intervals cover it at about the nominal rate (the same
/// evaluation as <c>./beacon eval effects</c>, fewer seeds).
/// </summary>
public sealed class ArmTestRecoveryTests
{
    [Theory]
    [InlineData(2, 1)]
    [InlineData(3, 2)]
    [InlineData(4, 3)]
    public void Every_stratum_and_the_totals_are_balanced_and_the_seed_reproduces_the_draw(int arms, int seed)
    {
        var random = new Random(seed);
        string[] bands = ["high", "elevated", "low", "unscored"];
        var eligible = Enumerable.Range(0, 97).Select(i => new EligibleStudent($"s{i:000}", $"school{random.Next(3)}", bands[random.Next(4)])).ToList();
        var draw = StratifiedAssignment.Assign(eligible, arms, seed);

        Assert.Equal(eligible.Count, draw.Count);
        foreach (var stratum in draw.GroupBy(d => (d.Student.SchoolId, d.Student.RiskBand)))
        {
            var counts = Enumerable.Range(0, arms).Select(a => stratum.Count(d => d.Arm == a)).ToList();
            Assert.True(counts.Max() - counts.Min() <= 1, $"{stratum.Key}: {string.Join(",", counts)}");
        }
        var totals = Enumerable.Range(0, arms).Select(a => draw.Count(d => d.Arm == a)).ToList();
        Assert.True(totals.Max() - totals.Min() <= 1, string.Join(",", totals));

        // The same students in another order, the same seed: the same arms. Another seed: another draw.
        var again = StratifiedAssignment.Assign(eligible.OrderByDescending(e => e.StudentId), arms, seed).ToDictionary(d => d.Student.StudentId, d => d.Arm);
        Assert.All(draw, d => Assert.Equal(d.Arm, again[d.Student.StudentId]));
        var other = StratifiedAssignment.Assign(eligible, arms, seed + 1000).ToDictionary(d => d.Student.StudentId, d => d.Arm);
        Assert.Contains(draw, d => other[d.Student.StudentId] != d.Arm);
    }

    [Fact]
    public void Welch_interval_and_minimum_detectable_difference_match_the_textbook_figures()
    {
        // Two groups of 10 with sd 1 and means 0 and 1: se = sqrt(0.2), df = 18, t(0.975, 18) = 2.1009, t(0.80, 18) = 0.8620.
        var a = Enumerable.Range(0, 10).Select(i => i % 2 == 0 ? -Math.Sqrt(0.9) : Math.Sqrt(0.9)).ToList();
        var b = a.Select(x => x + 1).ToList();
        var (difference, low, high, minimum) = EffectEstimator.CompareMeans(a, b);
        Assert.Equal(1, difference, 10);
        Assert.Equal(1 - 2.1009 * Math.Sqrt(0.2), low!.Value, 3);
        Assert.Equal(1 + 2.1009 * Math.Sqrt(0.2), high!.Value, 3);
        Assert.Equal((2.1009 + 0.8620) * Math.Sqrt(0.2), minimum!.Value, 3);
        Assert.Null(EffectEstimator.CompareMeans([1.0], b).Low);
    }

    [Fact]
    public void Over_many_simulated_tests_the_estimate_recovers_the_planted_difference_at_about_the_nominal_coverage()
    {
        var runs = Enumerable.Range(1, 120).Select(seed => ArmTestEvaluation.Run(seed)).ToList();
        var truth = runs.Average(r => r.Planted);
        Assert.InRange(truth, ArmTestWorld.PlantedDifference - 0.01, ArmTestWorld.PlantedDifference);   // the cap at 1 trims it a little
        var errors = runs.Select(r => r.Estimate - r.Planted).ToList();
        var bias = errors.Average();
        var se = Math.Sqrt(errors.Sum(e => (e - bias) * (e - bias)) / (errors.Count - 1) / errors.Count);
        Assert.True(Math.Abs(bias) < 3 * se, $"bias {bias:0.0000} (se {se:0.0000})");
        // Nominal 95 %: with 120 seeds, below 0.88 would be a real shortfall, not chance.
        Assert.InRange(runs.Average(r => r.Covers ? 1.0 : 0.0), 0.88, 1.0);
        // Planted above the minimum detectable difference, so most tests find it.
        Assert.True(runs.Average(r => r.Detectable ? 1.0 : 0.0) >= 0.7);
    }
}
