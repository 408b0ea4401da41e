extern alias Effects;
extern alias Simulator;

using Effects::Beacon.Effects.Evaluation;
using Simulator::Beacon.Simulator;

namespace Beacon.Interventions.Tests;

/// <summary>
/// The mastery effect estimate on simulated schools with a planted effect (issue #27, part 6): over many seeds it
/// centres on the truth for the type with an effect and on zero for the type without, and its 95 % intervals cover the
/// truth at about the nominal rate. The same evaluation as <c>./beacon eval effects</c> (fewer seeds, to stay quick).
/// </summary>
public sealed class MasteryEffectRecoveryTests
{
    [Fact]
    public void The_estimate_recovers_the_planted_effect_and_finds_none_where_none_was_planted()
    {
        var runs = Enumerable.Range(1, 60).Select(seed => MasteryEffectEvaluation.Run(seed)).ToList();
        var planted = runs.Select(r => r.Single(t => t.Type == MasteryEffectWorld.PlantedType)).ToList();
        var none = runs.Select(r => r.Single(t => t.Type == MasteryEffectWorld.NullType)).ToList();

        // The truth is known from the counterfactual world: positive for the planted type, exactly zero for the other.
        var truth = planted.Average(p => p.Planted);
        Assert.InRange(truth, 0.03, 0.3);
        Assert.All(none, n => Assert.Equal(0, n.Planted, 12));
        Assert.True(planted.Average(p => p.Students) >= 15, $"too few students measured per seed: {planted.Average(p => p.Students):0.0}");

        // Unbiased within what 60 seeds can tell (the standard error of the mean over seeds, times three).
        double Se(IEnumerable<double> xs)
        {
            var l = xs.ToList();
            var m = l.Average();
            return Math.Sqrt(l.Sum(x => (x - m) * (x - m)) / (l.Count - 1) / l.Count);
        }
        var plantedBias = planted.Average(p => p.Estimate - p.Planted);
        Assert.True(Math.Abs(plantedBias) < 3 * Se(planted.Select(p => p.Estimate - p.Planted)), $"bias {plantedBias:0.0000}");
        var noneMean = none.Average(n => n.Estimate);
        Assert.True(Math.Abs(noneMean) < 3 * Se(none.Select(n => n.Estimate)), $"null type estimate {noneMean:0.0000}");
        Assert.True(noneMean < truth / 2, "the null type must not look like the planted one");

        // Nominal 95 %: with 60 seeds, a coverage below 0.85 would be a real shortfall, not chance.
        Assert.InRange(planted.Average(p => p.Covers ? 1.0 : 0.0), 0.85, 1.0);
        Assert.InRange(none.Average(n => n.Covers ? 1.0 : 0.0), 0.85, 1.0);
    }
}
