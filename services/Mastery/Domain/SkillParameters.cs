using Beacon.Mastery.Storage;

namespace Beacon.Mastery.Domain;

/// <summary>Between the stored skill and student rows and the BKT model.</summary>
public static class SkillParameters
{
    public static BktParameters Of(Skill skill) => new(skill.PriorKnowledge, skill.Learn, skill.Guess, skill.Slip, skill.Forget);

    public static Skill NewSkill(string skillId, BktParameters defaults) => new()
    {
        SkillId = skillId,
        PriorKnowledge = defaults.PriorKnowledge,
        Learn = defaults.Learn,
        Guess = defaults.Guess,
        Slip = defaults.Slip,
        Forget = defaults.Forget,
    };

    public static void Set(Skill skill, BktParameters p)
    {
        skill.PriorKnowledge = p.PriorKnowledge;
        skill.Learn = p.Learn;
        skill.Guess = p.Guess;
        skill.Slip = p.Slip;
        skill.Forget = p.Forget;
    }

    /// <summary>One answer: the BKT update, counts, peak and the struggling rule.</summary>
    public static void Apply(StudentSkillMastery mastery, bool correct, BktParameters p, MasteryOptions options)
    {
        mastery.ProbabilityMastered = KnowledgeTracing.Update(mastery.ProbabilityMastered, correct, p);
        mastery.Attempts++;
        mastery.CorrectAnswers += correct ? 1 : 0;
        mastery.PeakProbability = Math.Max(mastery.PeakProbability, mastery.ProbabilityMastered);
        mastery.Struggling = options.IsStruggling(mastery.ProbabilityMastered, mastery.PeakProbability, mastery.Attempts);
    }

    /// <summary>Recomputes a student's mastery of a skill from all their answers to it, in the order given.</summary>
    public static void Replay(StudentSkillMastery mastery, IEnumerable<MasteryStep> ordered, BktParameters p, MasteryOptions options)
    {
        mastery.ProbabilityMastered = mastery.PeakProbability = p.PriorKnowledge;
        mastery.Attempts = mastery.CorrectAnswers = 0;
        foreach (var step in ordered)
        {
            Apply(mastery, step.Correct, p, options);
            step.ProbabilityAfter = mastery.ProbabilityMastered;
        }
    }
}
