using Beacon.Interventions.Domain;
using Beacon.Mastery.Domain;
using Beacon.Simulator;

namespace Beacon.Effects.Evaluation;

/// <summary>One intervention type in one simulated world: the planted effect, the estimate and its 95 % interval.</summary>
/// <param name="Naive">The treated students' own mean change (after minus before, no comparison): the baseline.</param>
public sealed record TypeEstimate(string Type, double Planted, double Estimate, double? Low, double? High, int Students, int Excluded, double Naive)
{
    public bool Covers => Low is { } low && High is { } high && low <= Planted && Planted <= high;
}

/// <summary>
/// The mastery effect measured the way the platform measures it: the simulator's answers through Mastery's knowledge
/// tracing (<see cref="KnowledgeTracing.Update"/>, the service's default parameters, as before a refit), the mastery around
/// each group's start as Mastery's GetSkillHistory reports it, and Interventions' <see cref="MasteryEffectEstimator"/>.
/// The planted effect is in the same units: each treated student's estimate at the end of the window minus the estimate
/// the same student would have had without their group (the simulator's counterfactual), averaged.
/// </summary>
public static class MasteryEffectEvaluation
{
    public static IReadOnlyList<TypeEstimate> Run(int seed, int windowWeeks = 2, int students = 600, string schoolId = "sim-effects")
    {
        var world = new MasteryEffectWorld(seed, students, schoolId: schoolId);
        var parameters = new BktParameters();
        var settings = new MasteryEffectSettings(WindowWeeks: windowWeeks);
        var start = At(MasteryEffectWorld.Start);
        var end = At(MasteryEffectWorld.Start.AddDays(7 * windowWeeks));
        var matchFrom = At(MasteryEffectWorld.Start.AddDays(-7 * settings.MatchingWeeks));

        var byStudent = world.Answers.GroupBy(a => a.StudentId).ToDictionary(g => g.Key, g => g.OrderBy(a => a.AnsweredAt).ToList());
        var points = world.Students.Select(id =>
        {
            var mine = byStudent.GetValueOrDefault(id) ?? [];
            return new MasteryPoint(id, Estimate(mine, start, parameters), Estimate(mine, end, parameters),
                mine.Count(a => a.AnsweredAt < start), mine.Count(a => a.AnsweredAt >= matchFrom && a.AnsweredAt < start));
        }).ToList();

        var groups = world.Groups.Select(g => (Id: Guid.NewGuid(), Group: g)).ToList();
        var treated = groups.SelectMany(g => g.Group.StudentIds.Select(s => new GroupTreated(g.Id, g.Group.Type, world.SkillId, world.SchoolId, s, g.Group.StartDate))).ToList();
        var grouped = treated.ToDictionary(t => (t.SkillId, t.StudentId), t => t.StartDate);
        var result = MasteryEffectEstimator.Estimate(treated, groups.ToDictionary(g => g.Id, _ => (IReadOnlyList<MasteryPoint>)points), grouped,
            new Dictionary<string, IReadOnlyList<string>>(), settings);

        return result.Types.Select(row =>
        {
            var ids = world.Groups.Where(g => g.Type == row.InterventionType).SelectMany(g => g.StudentIds).ToList();
            var planted = ids.Count == 0 ? double.NaN : ids.Average(id =>
                Estimate(byStudent.GetValueOrDefault(id) ?? [], end, parameters) - Estimate(world.Counterfactual[id], end, parameters));
            return new TypeEstimate(row.InterventionType, planted, row.Difference, row.CiLow, row.CiHigh, row.Cases, row.Excluded, row.MeanChange);
        }).ToList();
    }

    /// <summary>Mastery after the last answer before <paramref name="at"/> (the skill's prior before any), as Mastery's history reports it.</summary>
    private static double Estimate(IEnumerable<SimAnswer> answers, DateTimeOffset at, BktParameters parameters)
    {
        var p = parameters.PriorKnowledge;
        foreach (var answer in answers.Where(a => a.AnsweredAt < at).OrderBy(a => a.AnsweredAt))
        {
            p = KnowledgeTracing.Update(p, answer.Correct, parameters);
        }
        return p;
    }

    private static DateTimeOffset At(DateOnly day) => new(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
}
