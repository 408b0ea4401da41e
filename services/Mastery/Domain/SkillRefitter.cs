using Beacon.Contracts.Events;
using Beacon.Mastery.Storage;
using Beacon.Messaging;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.Mastery.Domain;

public sealed record RefitOutcome(string SkillId, int Responses, int Students, bool Fitted, BktParameters Parameters, string? Reason);

/// <summary>
/// Refits every skill's BKT parameters by EM from the answers recorded so far, then replays each student's
/// answers with the new parameters so stored mastery agrees with them; changed mastery is published.
/// Skills with too few answers keep their parameters.
/// <para>
/// Answers keep arriving while a refit runs. The parameters are saved first, so answers applied after that use
/// them. The replay then goes a chunk of students at a time, each in its own save: a mastery row an answer
/// changed after the chunk read it fails the save on its version, and the chunk is read and replayed again.
/// </para>
/// </summary>
public sealed class SkillRefitter(MasteryDbContext db, IOptions<MasteryOptions> options, TimeProvider clock)
{
    private const int StudentsPerChunk = 200;

    /// <summary>How often one chunk is replayed again after losing to a concurrent answer before the refit gives up.</summary>
    private const int ReplayAttempts = 10;

    public async Task<List<RefitOutcome>> RefitAsync(CancellationToken ct)
    {
        var settings = options.Value;
        var now = clock.GetUtcNow();
        var steps = await db.Steps.AsNoTracking().Select(s => new { s.SkillId, s.StudentId, s.Correct, s.AnsweredAt, s.AttemptNumber, s.Id }).ToListAsync(ct);
        var skills = await db.Skills.ToDictionaryAsync(s => s.SkillId, ct);
        var outcomes = new List<RefitOutcome>();
        var fitted = new Dictionary<string, BktParameters>();
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
            var fit = BktFitter.Fit(byStudent.Select(g => g.InAnswerOrder(s => (s.AnsweredAt, s.AttemptNumber, s.Id))
                .Select(s => s.Correct).ToArray()).ToList(), new BktFitOptions { FitForgetting = settings.FitForgetting, MaxSlip = settings.MaxSlip });
            SkillParameters.Set(skill, fit.Parameters);
            skill.FittedFromResponses = responses;
            skill.FittedAt = now;
            fitted[skill.SkillId] = fit.Parameters;
            outcomes.Add(new RefitOutcome(skill.SkillId, responses, byStudent.Count, true, fit.Parameters, null));
        }
        await db.SaveChangesAsync(ct);

        var students = steps.Where(s => fitted.ContainsKey(s.SkillId)).Select(s => s.StudentId).Distinct().Order(StringComparer.Ordinal).ToList();
        var fittedSkills = fitted.Keys.ToList();
        foreach (var chunk in students.Chunk(StudentsPerChunk))
        {
            for (var attempt = 1; ; attempt++)
            {
                db.ChangeTracker.Clear();
                ReplayChunk(await db.Mastery.Where(m => chunk.Contains(m.StudentId) && fittedSkills.Contains(m.SkillId)).ToListAsync(ct),
                    await db.Steps.Where(s => chunk.Contains(s.StudentId) && fittedSkills.Contains(s.SkillId)).ToListAsync(ct), fitted, settings, now);
                try
                {
                    await db.SaveChangesAsync(ct);
                    break;
                }
                catch (DbUpdateConcurrencyException) when (attempt < ReplayAttempts)
                {
                    // An answer changed one of the chunk's rows since it was read: read and replay the chunk again.
                }
            }
        }
        return outcomes;
    }

    private void ReplayChunk(List<StudentSkillMastery> masteries, List<MasteryStep> steps, Dictionary<string, BktParameters> fitted,
        MasteryOptions settings, DateTimeOffset now)
    {
        var history = steps.ToLookup(s => (s.StudentId, s.SkillId));
        var published = new List<StudentSkillMastery>();
        foreach (var mastery in masteries)
        {
            if (!fitted.TryGetValue(mastery.SkillId, out var parameters))
            {
                continue;
            }
            var before = (mastery.ProbabilityMastered, mastery.PeakProbability, mastery.Attempts, mastery.CorrectAnswers, mastery.Struggling);
            // Answer order, ties by attempt, then by the order the steps were stored: as the tracker replays.
            SkillParameters.Replay(mastery, history[(mastery.StudentId, mastery.SkillId)].InAnswerOrder(),
                parameters, settings);
            if (before == (mastery.ProbabilityMastered, mastery.PeakProbability, mastery.Attempts, mastery.CorrectAnswers, mastery.Struggling))
            {
                continue;
            }
            mastery.UpdatedAt = now;
            mastery.Version++;
            if (Math.Abs(before.ProbabilityMastered - mastery.ProbabilityMastered) > 1e-9)
            {
                published.Add(mastery);
            }
        }
        db.PublishChanges(published, settings, now);
    }
}
