using Beacon.Contracts.Events;
using Beacon.Mastery.Storage;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.Mastery.Domain;

/// <summary>
/// Updates the student's mastery of each skill the item practises with that skill's fitted parameters
/// (defaults until it is fitted), records the step, and publishes the change. Idempotent on
/// (student, item, attempt): a redelivered answer changes nothing.
/// </summary>
public sealed class MasteryTracker(MasteryDbContext db, IOptions<MasteryOptions> options, TimeProvider clock)
{
    public async Task ApplyAsync(ItemResponseRecorded answer, CancellationToken ct)
    {
        if (await db.AppliedResponses.AnyAsync(r => r.StudentId == answer.StudentId && r.ItemId == answer.ItemId && r.AttemptNumber == answer.AttemptNumber, ct))
        {
            return;
        }
        var skillIds = answer.SkillIds.Where(s => !string.IsNullOrWhiteSpace(s)).Distinct().ToList();
        db.AppliedResponses.Add(new AppliedResponse
        {
            StudentId = answer.StudentId,
            ItemId = answer.ItemId,
            AttemptNumber = answer.AttemptNumber,
            Correct = answer.Correct,
            SkillIds = string.Join(',', skillIds),
            AnsweredAt = answer.AnsweredAt.ToUniversalTime(),
        });
        var settings = options.Value;
        var now = clock.GetUtcNow();
        foreach (var skillId in skillIds)
        {
            var skill = await db.Skills.FindAsync([skillId], ct)
                ?? db.Skills.Add(SkillParameters.NewSkill(skillId, settings.DefaultParameters)).Entity;
            var parameters = SkillParameters.Of(skill);
            var mastery = await db.Mastery.FindAsync([answer.StudentId, skillId], ct);
            if (mastery is null)
            {
                mastery = db.Mastery.Add(new StudentSkillMastery
                {
                    StudentId = answer.StudentId,
                    SkillId = skillId,
                    ProbabilityMastered = parameters.PriorKnowledge,
                    PeakProbability = parameters.PriorKnowledge,
                }).Entity;
            }
            var step = db.Steps.Add(new MasteryStep
            {
                StudentId = answer.StudentId,
                SkillId = skillId,
                ItemId = answer.ItemId,
                AttemptNumber = answer.AttemptNumber,
                Correct = answer.Correct,
                AnsweredAt = answer.AnsweredAt.ToUniversalTime(),
            }).Entity;
            var history = await db.Steps.Where(s => s.StudentId == answer.StudentId && s.SkillId == skillId).ToListAsync(ct);
            if (!history.Any(s => AnsweredAfter(s, step)))
            {
                SkillParameters.Apply(mastery, answer.Correct, parameters, settings);
                step.ProbabilityAfter = mastery.ProbabilityMastered;
            }
            else
            {
                // An answer arrived after a later one (a retry, a late file): replay the skill in answer order.
                history.Add(step);
                SkillParameters.Replay(mastery, history.OrderBy(s => s.AnsweredAt).ThenBy(s => s.AttemptNumber).ThenBy(s => s.Id == 0 ? long.MaxValue : s.Id),
                    parameters, settings);
            }
            mastery.UpdatedAt = now;
            db.Publish(new MasteryChanged(answer.StudentId, skillId, mastery.ProbabilityMastered,
                mastery.ProbabilityMastered >= settings.MasteredAt, mastery.Attempts, now));
        }
        await db.SaveChangesAsync(ct);
    }

    private static bool AnsweredAfter(MasteryStep other, MasteryStep step) =>
        other.AnsweredAt > step.AnsweredAt || (other.AnsweredAt == step.AnsweredAt && other.AttemptNumber > step.AttemptNumber);
}

