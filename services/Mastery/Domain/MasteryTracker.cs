using Beacon.Contracts.Events;
using Beacon.Mastery.Storage;
using Beacon.Messaging;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.Mastery.Domain;

/// <summary>
/// Updates the student's mastery of each skill the item practises with that skill's fitted parameters
/// (defaults until it is fitted), records the step, and publishes the change. Idempotent on
/// (student, item, attempt): a redelivered answer, or the same answer twice in a batch, changes nothing.
/// A batch is read once (applied answers, skills, the touched mastery rows and their step histories) and
/// gives the same rows and steps as its answers applied one by one, in its order. If another writer changed a
/// mastery row after it was read (the other consumer, a replica, a refit), the save fails on the row's
/// <see cref="StudentSkillMastery.Version"/> and nothing of the message is kept: the bus retries it from fresh state.
/// </summary>
public sealed class MasteryTracker(MasteryDbContext db, IOptions<MasteryOptions> options, TimeProvider clock)
{
    /// <summary>Orders the steps of a batch after every stored step (stored ids are far below), in the batch's order.</summary>
    private const long FirstNewStepOrder = long.MaxValue / 2;

    /// <summary>One answer, in its own transaction (single events: other producers, replays of older logs).</summary>
    public async Task ApplyAsync(ItemResponseRecorded answer, CancellationToken ct)
    {
        await ApplyBatchAsync([answer], ct);
        await db.SaveChangesAsync(ct);
    }

    /// <summary>
    /// Answers in the order given. Publishes <see cref="StudentMasteryChanged"/> once per touched student, with each touched
    /// skill's final value: no consumer needs the values in between (the steps keep them). The caller saves.
    /// </summary>
    public async Task ApplyBatchAsync(IReadOnlyList<ItemResponseRecorded> answers, CancellationToken ct)
    {
        if (answers.Count == 0)
        {
            return;
        }
        var students = answers.Select(a => a.StudentId).Distinct().ToList();
        var items = answers.Select(a => a.ItemId).Distinct().ToList();
        // Read untracked and over-fetched by student × item: one query for the batch, filtered here.
        var applied = (await db.AppliedResponses.AsNoTracking().Where(r => students.Contains(r.StudentId) && items.Contains(r.ItemId))
            .Select(r => new { r.StudentId, r.ItemId, r.AttemptNumber }).ToListAsync(ct))
            .Select(r => (r.StudentId, r.ItemId, r.AttemptNumber)).ToHashSet();
        var fresh = answers.Where(a => applied.Add((a.StudentId, a.ItemId, a.AttemptNumber))).ToList();
        if (fresh.Count == 0)
        {
            return;
        }

        var touched = fresh.SelectMany(a => SkillsOf(a).Select(s => (a.StudentId, s))).ToHashSet();
        var skillIds = touched.Select(t => t.s).Distinct().ToList();
        students = touched.Select(t => t.StudentId).Distinct().ToList();
        var skills = await db.Skills.Where(s => skillIds.Contains(s.SkillId)).ToDictionaryAsync(s => s.SkillId, ct);
        // Untracked, then only the touched pairs attached: tracking a whole student × skill cross product made every save scan it.
        var stored = (await db.Mastery.AsNoTracking().Where(m => students.Contains(m.StudentId) && skillIds.Contains(m.SkillId)).ToListAsync(ct))
            .Where(m => touched.Contains((m.StudentId, m.SkillId))).ToDictionary(m => (m.StudentId, m.SkillId));
        var histories = (await db.Steps.AsNoTracking().Where(s => students.Contains(s.StudentId) && skillIds.Contains(s.SkillId)).ToListAsync(ct))
            .Where(s => touched.Contains((s.StudentId, s.SkillId))).GroupBy(s => (s.StudentId, s.SkillId)).ToDictionary(g => g.Key, g => g.ToList());

        var settings = options.Value;
        var now = clock.GetUtcNow();
        var tracks = new Dictionary<(string, string), SkillTrack>();
        var changed = new List<SkillTrack>();
        var order = FirstNewStepOrder;
        foreach (var answer in fresh)
        {
            var answerSkills = SkillsOf(answer);
            db.AppliedResponses.Add(new AppliedResponse
            {
                StudentId = answer.StudentId,
                ItemId = answer.ItemId,
                AttemptNumber = answer.AttemptNumber,
                Correct = answer.Correct,
                SkillIds = string.Join(',', answerSkills),
                AnsweredAt = answer.AnsweredAt.ToUniversalTime(),
                HintsUsed = answer.HintsUsed,
            });
            foreach (var skillId in answerSkills)
            {
                if (!skills.TryGetValue(skillId, out var skill))
                {
                    skills[skillId] = skill = db.Skills.Add(SkillParameters.NewSkill(skillId, settings.DefaultParameters)).Entity;
                }
                var parameters = SkillParameters.Of(skill);
                var key = (answer.StudentId, skillId);
                if (!tracks.TryGetValue(key, out var track))
                {
                    var mastery = stored.TryGetValue(key, out var row)
                        ? db.Mastery.Attach(row).Entity
                        : db.Mastery.Add(new StudentSkillMastery
                        {
                            StudentId = answer.StudentId,
                            SkillId = skillId,
                            ProbabilityMastered = parameters.PriorKnowledge,
                            PeakProbability = parameters.PriorKnowledge,
                        }).Entity;
                    tracks[key] = track = new SkillTrack(mastery, histories.GetValueOrDefault(key) ?? []);
                    changed.Add(track);
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
                track.Add(step, order++, parameters, settings, db);
            }
        }
        foreach (var track in changed)
        {
            track.Mastery.UpdatedAt = now;
            track.Mastery.Version++;
        }
        db.PublishChanges(changed.Select(t => t.Mastery), settings, now);
    }

    private static List<string> SkillsOf(ItemResponseRecorded answer) =>
        answer.SkillIds.Where(s => !string.IsNullOrWhiteSpace(s)).Distinct().ToList();

    /// <summary>One student's mastery of one skill and its steps (stored, then this batch's), as the batch goes.</summary>
    private sealed class SkillTrack(StudentSkillMastery mastery, List<MasteryStep> stored)
    {
        private readonly List<(MasteryStep Step, long Order)> _steps = [.. stored.Select(s => (s, s.Id))];
        private MasteryStep? _latest = stored.InAnswerOrder().LastOrDefault();
        private bool _storedAttached;

        public StudentSkillMastery Mastery => mastery;

        public void Add(MasteryStep step, long order, BktParameters parameters, MasteryOptions settings, MasteryDbContext db)
        {
            _steps.Add((step, order));
            if (_latest is null || !AnsweredAfter(_latest, step))
            {
                SkillParameters.Apply(mastery, step.Correct, parameters, settings);
                step.ProbabilityAfter = mastery.ProbabilityMastered;
                _latest = step;
                return;
            }
            // An answer arrived after a later one (a retry, a late file): replay the skill in answer order,
            // ties by attempt, then in the order the steps were stored.
            if (!_storedAttached)
            {
                db.Steps.AttachRange(stored);
                _storedAttached = true;
            }
            SkillParameters.Replay(mastery, _steps.InAnswerOrder(s => (s.Step.AnsweredAt, s.Step.AttemptNumber, s.Order)).Select(s => s.Step),
                parameters, settings);
        }

        private static bool AnsweredAfter(MasteryStep other, MasteryStep step) =>
            other.AnsweredAt > step.AnsweredAt || (other.AnsweredAt == step.AnsweredAt && other.AttemptNumber > step.AttemptNumber);
    }
}

/// <summary>How Mastery tells other services its estimates changed.</summary>
public static class MasteryEvents
{
    /// <summary>
    /// One <see cref="StudentMasteryChanged"/> per student, with each of their changed skills, through the outbox: a message
    /// per skill made an answer batch several messages an answer for Early warning to take (issue #18). The caller saves.
    /// </summary>
    public static void PublishChanges(this MasteryDbContext db, IEnumerable<StudentSkillMastery> changed, MasteryOptions settings, DateTimeOffset now)
    {
        foreach (var student in changed.GroupBy(m => m.StudentId, StringComparer.Ordinal))
        {
            db.Publish(new StudentMasteryChanged(student.Key,
                [.. student.Select(m => new SkillMasteryEstimate(m.SkillId, m.ProbabilityMastered, m.ProbabilityMastered >= settings.MasteredAt, m.Attempts))], now));
        }
    }
}
