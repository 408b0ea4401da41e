namespace Beacon.Simulator;

/// <summary>One simulated answer: a student's attempt at an item of the world's one skill.</summary>
public sealed record SimAnswer(string StudentId, string ItemId, bool Correct, int AttemptNumber, int HintsUsed, DateTimeOffset AnsweredAt);

/// <summary>A simulated group intervention: its type, its students, its start (a Monday).</summary>
public sealed record SimGroup(string Type, IReadOnlyList<string> StudentIds, DateOnly StartDate);

/// <summary>
/// A school practising one skill, with a known mastery effect for the group interventions (issue #27, part 6). Each
/// student knows the skill or not (hidden; known at the start with probability <see cref="PriorKnown"/>); on a school
/// day they answer one item with their own probability (their practice level, 0.2–0.6): right with probability 1 − slip
/// if they know it, else the guess rate; a student who does not know it then learns it with probability
/// <see cref="Learn"/>. These are the Bayesian Knowledge Tracing parameters Mastery uses before a refit, so its estimate is
/// the student's true probability of knowing the skill given their answers. Teachers pick the students who struggled in
/// the week before <see cref="Start"/> (at least half of their answers wrong) and split them in three: a
/// <see cref="PlantedType"/> group, which raises their learn rate by <see cref="LearnBoost"/> from the start, a
/// <see cref="NullType"/> group, which changes nothing, and no group. The truth in the estimate's units is known because
/// every treated student is also simulated without their group on the same random numbers (<see cref="Counterfactual"/>):
/// the planted effect is the mean difference of the two worlds' mastery estimates at the end of the window.
/// </summary>
public sealed class MasteryEffectWorld
{
    public const string PlantedType = "re-teach-module";
    public const string NullType = "practice-set";
    public const double LearnBoost = 0.25;
    public const double PriorKnown = 0.3;
    public const double Learn = 0.15;
    public const double Guess = 0.2;
    public const double Slip = 0.1;
    public const int WeeksBefore = 6;
    public const int WeeksAfter = 2;
    public static readonly DateOnly FirstDay = new(2026, 9, 7);   // a Monday
    public static readonly DateOnly Start = FirstDay.AddDays(7 * WeeksBefore);

    public string SchoolId { get; }
    public string SkillId { get; } = "sim-skill";
    public List<string> Students { get; } = [];
    public List<SimAnswer> Answers { get; } = [];
    public List<SimGroup> Groups { get; } = [];

    /// <summary>Treated students' answers had they not been in their group (same random numbers); untreated students have none here.</summary>
    public Dictionary<string, List<SimAnswer>> Counterfactual { get; } = [];

    public MasteryEffectWorld(int seed, int students = 600, int groupSize = 8, string schoolId = "sim-effects")
    {
        SchoolId = schoolId;
        var random = new Random(seed);
        var days = Enumerable.Range(0, 7 * (WeeksBefore + WeeksAfter)).Select(d => FirstDay.AddDays(d))
            .Where(d => d.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday)).ToList();
        var profiles = Enumerable.Range(0, students).Select(i => new Profile(
            $"{schoolId}-s{i:0000}",
            Known: random.NextDouble() < PriorKnown,
            Practice: 0.2 + 0.4 * random.NextDouble(),
            // The uniforms every day uses, so the worlds with and without a group differ only by the group.
            Draws: days.Select(_ => (Active: random.NextDouble(), Answer: random.NextDouble(), Learn: random.NextDouble())).ToArray())).ToList();

        var untreated = profiles.ToDictionary(p => p.Id, p => Run(p, days, boostFrom: null));
        // The teacher's choice: who struggled in the week before the start (what the teacher's week shows).
        var weekBefore = new DateTimeOffset(Start.AddDays(-7).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var startAt = new DateTimeOffset(Start.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var struggling = profiles.Where(p =>
        {
            var lastWeek = untreated[p.Id].Where(a => a.AnsweredAt >= weekBefore && a.AnsweredAt < startAt).ToList();
            return lastWeek.Count >= 1 && lastWeek.Count(a => !a.Correct) * 2 >= lastWeek.Count;
        }).OrderBy(_ => random.Next()).ToList();
        // A third to the planted type, a third to the null type, the rest stay out (and can be compared with).
        var planted = struggling.Take(struggling.Count / 3).ToList();
        var none = struggling.Skip(planted.Count).Take(struggling.Count / 3).ToList();
        foreach (var (type, members) in new[] { (PlantedType, planted), (NullType, none) })
        {
            foreach (var chunk in members.Chunk(groupSize))
            {
                Groups.Add(new SimGroup(type, [.. chunk.Select(p => p.Id)], Start));
            }
        }
        var boosted = planted.Select(p => p.Id).ToHashSet();
        foreach (var p in profiles)
        {
            Students.Add(p.Id);
            if (boosted.Contains(p.Id))
            {
                Answers.AddRange(Run(p, days, boostFrom: Start));
                Counterfactual[p.Id] = untreated[p.Id];
            }
            else
            {
                Answers.AddRange(untreated[p.Id]);
                if (none.Contains(p))
                {
                    Counterfactual[p.Id] = untreated[p.Id];   // the null type changes nothing: both worlds are the same
                }
            }
        }
    }

    private sealed record Profile(string Id, bool Known, double Practice, (double Active, double Answer, double Learn)[] Draws);

    private static List<SimAnswer> Run(Profile p, List<DateOnly> days, DateOnly? boostFrom)
    {
        var answers = new List<SimAnswer>();
        var known = p.Known;
        for (var d = 0; d < days.Count; d++)
        {
            var (active, answerDraw, learnDraw) = p.Draws[d];
            if (active >= p.Practice)
            {
                continue;
            }
            var correct = answerDraw < (known ? 1 - Slip : Guess);
            answers.Add(new SimAnswer(p.Id, $"item-{d:000}", correct, 1, correct ? 0 : (int)(answerDraw * 3),
                new DateTimeOffset(days[d].ToDateTime(new TimeOnly(9, 0)), TimeSpan.Zero)));
            known = known || learnDraw < Learn + (boostFrom is { } from && days[d] >= from ? LearnBoost : 0);
        }
        return answers;
    }
}
