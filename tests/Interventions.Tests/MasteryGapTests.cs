using Beacon.Interventions.Domain;

namespace Beacon.Interventions.Tests;

/// <summary>
/// Growth gaps of the mastery effect: within a type, each subgroup's effect against the rest of the type's students, with an
/// interval, suppressed when either side is below the minimum group size.
/// </summary>
public sealed class MasteryGapTests
{
    private static readonly DateOnly Start = new(2026, 10, 12);

    /// <summary>
    /// One group of 60: girls gain 0.30 in mastery, boys 0.10, 240 comparable students of the school nothing (all at 0.5
    /// before, alike practice; a little spread so intervals exist). Ten students are English learners; 55 are economically
    /// disadvantaged (so only 5 are not).
    /// </summary>
    private static MasteryEffectResult Run()
    {
        var groupId = Guid.NewGuid();
        var treated = Enumerable.Range(0, 60).Select(i => new GroupTreated(groupId, "small-group", "fractions", "s", $"t{i:00}", Start)).ToList();
        static double Spread(int i) => i % 5 * 0.01;
        var points = treated.Select((t, i) => new MasteryPoint(t.StudentId, 0.5, 0.5 + (i < 30 ? 0.30 : 0.10) + Spread(i), 4, 4))
            .Concat(Enumerable.Range(0, 240).Select(i => new MasteryPoint($"c{i:000}", 0.5, 0.5 + Spread(i), 4, 4))).ToList();
        var subgroups = treated.Select((t, i) => (t.StudentId, Labels: new List<string> { i < 30 ? "sex:female" : "sex:male" }
            .Concat(i < 10 ? ["el:True"] : []).Concat(i < 55 ? ["econ:disadvantaged"] : []).ToList()))
            .ToDictionary(x => x.StudentId, x => (IReadOnlyList<string>)x.Labels);
        return MasteryEffectEstimator.Estimate(treated, new Dictionary<Guid, IReadOnlyList<MasteryPoint>> { [groupId] = points },
            treated.ToDictionary(t => (t.SkillId, t.StudentId), t => t.StartDate), subgroups, new MasteryEffectSettings(MinimumGroupSize: 20));
    }

    [Fact]
    public void A_subgroup_that_gains_more_has_a_positive_gap_and_the_rest_a_negative_one()
    {
        var gaps = Run().Gaps.ToDictionary(g => g.Subgroup);
        var girls = gaps["sex:female"];
        Assert.Equal(("small-group", "sex", 30, 30), (girls.Type, girls.Attribute, girls.Students, girls.Others));
        Assert.Equal(0.20, girls.Gap!.Value, 3);
        Assert.True(girls.CiLow > 0.15 && girls.CiHigh < 0.25, $"[{girls.CiLow}, {girls.CiHigh}]");
        var boys = gaps["sex:male"];
        Assert.Equal(-0.20, boys.Gap!.Value, 3);
        Assert.True(boys.CiHigh < 0);
    }

    [Fact]
    public void A_gap_is_suppressed_when_the_subgroup_or_the_rest_is_below_the_minimum()
    {
        var gaps = Run().Gaps.ToDictionary(g => g.Subgroup);
        var learners = gaps["el:True"];
        Assert.Equal((10, 50), (learners.Students, learners.Others));
        Assert.Null(learners.Gap);
        Assert.Null(learners.CiLow);
        // 55 disadvantaged students, but only 5 others: comparing with them would show those five.
        var econ = gaps["econ:disadvantaged"];
        Assert.Equal((55, 5), (econ.Students, econ.Others));
        Assert.Null(econ.Gap);
    }
}
