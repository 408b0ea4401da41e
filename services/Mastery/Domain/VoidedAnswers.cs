using Beacon.Contracts.Events;
using Beacon.Mastery.Storage;
using Beacon.Messaging;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.Mastery.Domain;

/// <summary>
/// Withdraws an answer whose xAPI statement was voided (xAPI 1.0.3, Data 2.3.2: a voided statement no longer stands):
/// its steps are removed and each skill it practised is replayed from the remaining steps in answer order, so mastery is
/// what it would have been had the answer never come. The applied-answer row stays as a tombstone (<see cref="AppliedResponse.Voided"/>):
/// a voiding that overtakes its answer, or the answer redelivered, never brings it back. Idempotent. The caller saves.
/// </summary>
public sealed class VoidedAnswers(MasteryDbContext db, IOptions<MasteryOptions> options, TimeProvider clock)
{
    public const string AnswerKind = "answer";

    public async Task ApplyAsync(LearningRecordVoided voided, CancellationToken ct)
    {
        if (voided.Kind != AnswerKind || voided.ItemId is not { } itemId || voided.AttemptNumber is not { } attempt)
        {
            return;   // an LMS activity: Mastery never counted it
        }
        var applied = await db.AppliedResponses.FindAsync([voided.StudentId, itemId, attempt], ct);
        if (applied is null)
        {
            // The voiding came first: leave the tombstone the answer will find.
            db.AppliedResponses.Add(new AppliedResponse { StudentId = voided.StudentId, ItemId = itemId, AttemptNumber = attempt, AnsweredAt = voided.VoidedAt, Voided = true });
            return;
        }
        if (applied.Voided)
        {
            return;
        }
        applied.Voided = true;
        var skillIds = applied.SkillIds.Split(',', StringSplitOptions.RemoveEmptyEntries);
        var settings = options.Value;
        var now = clock.GetUtcNow();
        var changed = new List<StudentSkillMastery>();
        foreach (var skillId in skillIds)
        {
            var mastery = await db.Mastery.FindAsync([voided.StudentId, skillId], ct);
            var skill = await db.Skills.FindAsync([skillId], ct);
            if (mastery is null || skill is null)
            {
                continue;
            }
            var steps = await db.Steps.Where(s => s.StudentId == voided.StudentId && s.SkillId == skillId).ToListAsync(ct);
            db.Steps.RemoveRange(steps.Where(s => s.ItemId == itemId && s.AttemptNumber == attempt));
            SkillParameters.Replay(mastery, steps.Where(s => !(s.ItemId == itemId && s.AttemptNumber == attempt)).InAnswerOrder(),
                SkillParameters.Of(skill), settings);
            mastery.UpdatedAt = now;
            mastery.Version++;
            changed.Add(mastery);
        }
        db.PublishChanges(changed, settings, now);
    }
}
