using Beacon.Mastery.Domain;

namespace Beacon.Mastery.Tests;

public class SkillGraphTests
{
    private static readonly Dictionary<string, IReadOnlyList<string>> Empty = [];

    private static SkillDefinition Skill(string id, params string[] prerequisites) => new(id, id, prerequisites);

    [Fact]
    public void A_chain_is_accepted_and_the_weakest_unmastered_prerequisite_comes_first()
    {
        var (graph, errors) = SkillGraph.Validate(
            [Skill("fractions"), Skill("equivalent-fractions", "fractions"), Skill("comparing-fractions", "equivalent-fractions")], Empty);
        Assert.Empty(errors);

        var mastery = new Dictionary<string, double> { ["fractions"] = 0.4, ["equivalent-fractions"] = 0.7, ["comparing-fractions"] = 0.2 };
        var next = graph!.Recommend("comparing-fractions", s => mastery[s], 0.95);
        Assert.Equal("fractions", next.TargetSkillId);
        Assert.Equal(["fractions", "equivalent-fractions"], next.UnmasteredPrerequisites);

        mastery["fractions"] = 0.97;
        Assert.Equal("equivalent-fractions", graph.Recommend("comparing-fractions", s => mastery[s], 0.95).TargetSkillId);
        mastery["equivalent-fractions"] = 0.96;
        Assert.Equal("comparing-fractions", graph.Recommend("comparing-fractions", s => mastery[s], 0.95).TargetSkillId);
    }

    [Fact]
    public void Cycles_unknown_skills_self_loops_and_duplicates_are_reported_by_index()
    {
        var (graph, errors) = SkillGraph.Validate(
        [
            Skill("a", "c"),
            Skill("b", "a"),
            Skill("c", "b"),
            Skill("d", "nowhere"),
            Skill("e", "e"),
            Skill("a"),
            new SkillDefinition(null, "no id", null),
        ], Empty);

        Assert.Null(graph);
        Assert.Contains("Cycle: a → c → b → a.", errors["skills[0].prerequisites"]);
        Assert.Contains("Unknown skill 'nowhere'", errors["skills[3].prerequisites[0]"][0]);
        Assert.Contains("its own prerequisite", errors["skills[4].prerequisites[0]"][0]);
        Assert.Contains("appears twice", errors["skills[5].skillId"][0]);
        Assert.Contains("required", errors["skills[6].skillId"][0]);
    }

    [Fact]
    public void A_new_edge_that_closes_a_cycle_through_stored_skills_is_rejected()
    {
        var stored = new Dictionary<string, IReadOnlyList<string>> { ["x"] = [], ["y"] = ["x"] };
        var (graph, errors) = SkillGraph.Validate([Skill("x", "y")], stored);
        Assert.Null(graph);
        Assert.Contains("Cycle", errors["skills[0].prerequisites"][0]);

        var (ok, none) = SkillGraph.Validate([Skill("z", "y")], stored);
        Assert.Empty(none);
        Assert.Equal(new Dictionary<string, int> { ["y"] = 1, ["x"] = 2 }, ok!.AllPrerequisites("z"));
    }
}
