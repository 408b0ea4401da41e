namespace Beacon.Mastery.Domain;

/// <summary>One recorded answer (not voided), with the skills it practises.</summary>
public sealed record WeekAnswer(string StudentId, string ItemId, int AttemptNumber, bool Correct, int HintsUsed, DateTimeOffset AnsweredAt, IReadOnlyList<string> SkillIds);

/// <summary>A student's mastery row of one skill, as stored now.</summary>
public sealed record StudentSkillState(double ProbabilityMastered, int Attempts, bool Struggling);

public sealed record AnswerEvidence(string ItemId, int AttemptNumber, bool Correct, int HintsUsed, DateTimeOffset AnsweredAt);

public sealed record WeakestPrerequisite(string SkillId, string SkillName, double ProbabilityMastered);

/// <summary>Why a student shows up under a skill: their mastery, this week's answers, wrong ones and hints, the latest answers.</summary>
public sealed record StrugglingEvidence(string StudentId, string GivenName, string FamilyName, double ProbabilityMastered, bool FlaggedStruggling,
    int AnswersThisWeek, int WrongThisWeek, int HintsThisWeek, IReadOnlyList<AnswerEvidence> LatestAnswers, WeakestPrerequisite? WeakestPrerequisite);

/// <summary>A skill's week in a section: failure rate, who answered, and the change in failure rate since the week before.</summary>
public sealed record SkillWeek(string SkillId, string SkillName, int Answers, int Wrong, int Students, double FailureRate,
    int LastWeekAnswers, double? LastWeekFailureRate, double? Change, IReadOnlyList<StrugglingEvidence> StrugglingStudents);

public sealed record RepeatedFailure(string ItemId, IReadOnlyList<string> SkillIds, int Students, int Wrong);

public sealed record SectionWeekReport(string SectionId, string SchoolId, string Title, string WeekStart, int Students, int AnswersThisWeek,
    IReadOnlyList<SkillWeek> TopSkills, IReadOnlyList<RepeatedFailure> RepeatedFailureItems);

/// <summary>What the section week needs besides the answers: names, mastery, the skill graph.</summary>
public sealed record SectionWeekInputs(
    IReadOnlyDictionary<string, (string GivenName, string FamilyName)> Students,
    IReadOnlyDictionary<(string StudentId, string SkillId), StudentSkillState> Mastery,
    IReadOnlyDictionary<string, string> SkillNames,
    IReadOnlyDictionary<string, double> Priors,
    SkillGraph Graph,
    double MasteredAt);

/// <summary>
/// A teacher's week for one section (Monday to Sunday, UTC): the skills most often answered wrong this week (at most
/// <see cref="TopSkills"/>), each with last week's failure rate and the change; under each skill the students who struggle
/// with it (flagged struggling, or wrong on at least half of at least two answers this week), with the evidence and the
/// weakest unmastered prerequisite where the skill graph has one; and the items a student answered wrong twice or more
/// this week. Pure: the API loads the rows.
/// </summary>
public static class SectionWeek
{
    public const int TopSkills = 3;
    public const int LatestAnswers = 5;
    public const int MaxRepeatedItems = 10;

    public static DateOnly WeekStart(DateOnly day) => day.AddDays(-(((int)day.DayOfWeek + 6) % 7));

    public static SectionWeekReport Build(string sectionId, string schoolId, string title, DateOnly weekStart, IReadOnlyList<WeekAnswer> answers, SectionWeekInputs inputs)
    {
        var start = new DateTimeOffset(weekStart.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var (lastStart, end) = (start.AddDays(-7), start.AddDays(7));
        var inSection = answers.Where(a => inputs.Students.ContainsKey(a.StudentId)).ToList();
        var thisWeek = inSection.Where(a => a.AnsweredAt >= start && a.AnsweredAt < end).ToList();
        var lastWeek = inSection.Where(a => a.AnsweredAt >= lastStart && a.AnsweredAt < start).ToList();
        var lastBySkill = lastWeek.SelectMany(a => a.SkillIds.Select(s => (Skill: s, a.Correct))).GroupBy(x => x.Skill)
            .ToDictionary(g => g.Key, g => (Answers: g.Count(), Rate: g.Average(x => x.Correct ? 0.0 : 1.0)));

        var top = thisWeek.SelectMany(a => a.SkillIds.Select(s => (Skill: s, Answer: a))).GroupBy(x => x.Skill)
            .Select(g => (Skill: g.Key, Answers: g.Select(x => x.Answer).ToList()))
            .Select(g => (g.Skill, g.Answers, Rate: g.Answers.Average(a => a.Correct ? 0.0 : 1.0)))
            .OrderByDescending(g => g.Rate).ThenByDescending(g => g.Answers.Count).ThenBy(g => g.Skill, StringComparer.Ordinal)
            .Take(TopSkills)
            .Select(g =>
            {
                var last = lastBySkill.TryGetValue(g.Skill, out var l) ? l : ((int Answers, double Rate)?)null;
                return new SkillWeek(g.Skill, inputs.SkillNames.GetValueOrDefault(g.Skill, ""), g.Answers.Count, g.Answers.Count(a => !a.Correct),
                    g.Answers.Select(a => a.StudentId).Distinct().Count(), Math.Round(g.Rate, 4), last?.Answers ?? 0,
                    last is null ? null : Math.Round(last.Value.Rate, 4), last is null ? null : Math.Round(g.Rate - last.Value.Rate, 4),
                    Struggling(g.Skill, g.Answers, inputs));
            }).ToList();

        var repeated = thisWeek.Where(a => !a.Correct).GroupBy(a => (a.StudentId, a.ItemId)).Where(g => g.Count() >= 2)
            .GroupBy(g => g.Key.ItemId)
            .Select(item => new RepeatedFailure(item.Key,
                [.. item.SelectMany(g => g).SelectMany(a => a.SkillIds).Distinct().Order(StringComparer.Ordinal)], item.Count(), item.Sum(g => g.Count())))
            .OrderByDescending(i => i.Students).ThenByDescending(i => i.Wrong).ThenBy(i => i.ItemId, StringComparer.Ordinal)
            .Take(MaxRepeatedItems).ToList();

        return new SectionWeekReport(sectionId, schoolId, title, weekStart.ToString("yyyy-MM-dd"), inputs.Students.Count, thisWeek.Count, top, repeated);
    }

    private static List<StrugglingEvidence> Struggling(string skillId, List<WeekAnswer> answers, SectionWeekInputs inputs)
    {
        var prior = inputs.Priors.GetValueOrDefault(skillId, 0);
        return answers.GroupBy(a => a.StudentId).Select(g =>
            {
                var state = inputs.Mastery.GetValueOrDefault((g.Key, skillId));
                var mine = g.OrderBy(a => a.AnsweredAt).ThenBy(a => a.AttemptNumber).ToList();
                var wrong = mine.Count(a => !a.Correct);
                return (Student: g.Key, State: state, Answers: mine, Wrong: wrong,
                    Struggles: state?.Struggling == true || (mine.Count >= 2 && wrong * 2 >= mine.Count));
            })
            .Where(s => s.Struggles)
            .OrderBy(s => s.State?.ProbabilityMastered ?? prior).ThenBy(s => s.Student, StringComparer.Ordinal)
            .Select(s =>
            {
                var (given, family) = inputs.Students[s.Student];
                return new StrugglingEvidence(s.Student, given, family, Math.Round(s.State?.ProbabilityMastered ?? prior, 4), s.State?.Struggling == true,
                    s.Answers.Count, s.Wrong, s.Answers.Sum(a => a.HintsUsed),
                    [.. s.Answers.TakeLast(LatestAnswers).Select(a => new AnswerEvidence(a.ItemId, a.AttemptNumber, a.Correct, a.HintsUsed, a.AnsweredAt))],
                    Prerequisite(s.Student, skillId, inputs));
            }).ToList();
    }

    /// <summary>The weakest unmastered prerequisite (direct or indirect), a skill not practised counting at its prior; null without one.</summary>
    private static WeakestPrerequisite? Prerequisite(string studentId, string skillId, SectionWeekInputs inputs)
    {
        double P(string skill) => inputs.Mastery.TryGetValue((studentId, skill), out var m) ? m.ProbabilityMastered : inputs.Priors.GetValueOrDefault(skill, 0);
        var recommendation = inputs.Graph.Recommend(skillId, P, inputs.MasteredAt);
        return recommendation.UnmasteredPrerequisites.Count == 0
            ? null
            : new WeakestPrerequisite(recommendation.TargetSkillId, inputs.SkillNames.GetValueOrDefault(recommendation.TargetSkillId, ""),
                Math.Round(P(recommendation.TargetSkillId), 4));
    }
}
