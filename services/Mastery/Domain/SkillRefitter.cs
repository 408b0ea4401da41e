using Beacon.Contracts.Events;
using Beacon.Mastery.Storage;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.Mastery.Domain;

public sealed record RefitOutcome(string SkillId, int Responses, int Students, bool Fitted, BktParameters Parameters, string? Reason);

/// <summary>
/// Refits every skill's BKT parameters by EM from the answers recorded so far, then replays each student's
/// answers with the new parameters so stored mastery agrees with them; changed mastery is published.
/// Skills with too few answers keep their parameters.
/// </summary>
public sealed class SkillRefitter(MasteryDbContext db, IOptions<MasteryOptions> options, TimeProvider clock)
{
    public async Task<List<RefitOutcome>> RefitAsync(CancellationToken ct)
    {
        var settings = options.Value;
        var now = clock.GetUtcNow();
        var steps = (await db.Steps.ToListAsync(ct)).OrderBy(s => s.AnsweredAt).ThenBy(s => s.Id).ToList();
        var skills = await db.Skills.ToDictionaryAsync(s => s.SkillId, ct);
        var masteries = await db.Mastery.ToDictionaryAsync(m => (m.StudentId, m.SkillId), ct);
        var outcomes = new List<RefitOutcome>();
        foreach (var bySkill in steps.GroupBy(s => s.SkillId))
        {
            var skill = skills.GetValueOrDefault(bySkill.Key) ?? db.Skills.Add(SkillParameters.NewSkill(bySkill.Key, settings.DefaultParameters)).Entity;
            var byStudent = bySkill.GroupBy(s => s.StudentId).ToList();
            var responses = bySkill.Count();
            if (responses < settings.MinimumResponsesToFit)
            {
                outcomes.Add(new RefitOutcome(skill.SkillId, responses, byStudent.Count, false, SkillParameters.Of(skill),
                    $"{responses} responses; at least {settings.MinimumResponsesToFit} are needed to fit."));
                continue;
            }
            var fit = BktFitter.Fit(byStudent.Select(g => g.Select(s => s.Correct).ToArray()).ToList(),
                new BktFitOptions { FitForgetting = settings.FitForgetting });
            SkillParameters.Set(skill, fit.Parameters);
            skill.FittedFromResponses = responses;
            skill.FittedAt = now;
            outcomes.Add(new RefitOutcome(skill.SkillId, responses, byStudent.Count, true, fit.Parameters, null));

            foreach (var student in byStudent)
            {
                if (!masteries.TryGetValue((student.Key, skill.SkillId), out var mastery))
                {
                    continue;
                }
                var before = mastery.ProbabilityMastered;
                SkillParameters.Replay(mastery, student, fit.Parameters, settings);
                if (Math.Abs(before - mastery.ProbabilityMastered) > 1e-9)
                {
                    mastery.UpdatedAt = now;
                    db.Publish(new MasteryChanged(mastery.StudentId, mastery.SkillId, mastery.ProbabilityMastered,
                        mastery.ProbabilityMastered >= settings.MasteredAt, mastery.Attempts, now));
                }
            }
        }
        await db.SaveChangesAsync(ct);
        return outcomes;
    }
}
