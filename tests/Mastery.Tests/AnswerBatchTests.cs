using Beacon.Contracts.Events;
using Beacon.Mastery.Storage;
using Beacon.Messaging;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.Mastery.Tests;

/// <summary>
/// Ingestion's answer batches (ItemResponseBatchRecorded) through the real broker: a batch gives the same mastery rows
/// and steps as its answers sent one by one, publishes one StudentMasteryChanged per touched student with each touched skill
/// once, and a redelivered batch (same message id) is skipped by the inbox.
/// </summary>
public sealed class AnswerBatchTests : IAsyncLifetime
{
    private readonly ServiceFactory<Program> _service = new();
    private MasteryChangedListener? _listener;

    private IReadOnlyCollection<MasteryChanged> Changes => _listener!.Changes;

    private IReadOnlyCollection<StudentMasteryChanged> Events => _listener!.Events;

    public async Task InitializeAsync()
    {
        await _service.WaitUntilReadyAsync();
        _listener = await MasteryChangedListener.StartAsync(_service.Services.GetRequiredService<IBus>());
    }

    public async Task DisposeAsync()
    {
        if (_listener is not null)
        {
            await _listener.DisposeAsync();
        }
        await _service.DisposeAsync();
    }

    private IBus Bus => _service.Services.GetRequiredService<IBus>();

    private Task<T> Db<T>(Func<MasteryDbContext, Task<T>> query) => _service.WithDbAsync(query);

    private static readonly DateTimeOffset Start = DateTimeOffset.UtcNow.AddHours(-3);

    /// <summary>The same answers for a given student prefix: two students, two skills, one item practising both.</summary>
    private static (List<ItemResponseRecorded> First, List<ItemResponseRecorded> Second) Answers(string prefix)
    {
        ItemResponseRecorded A(int student, string item, string[] skills, bool correct, int minute, int attempt = 1) =>
            new($"{prefix}-{student}", item, skills, correct, attempt, 0, 30, Start.AddMinutes(minute));
        string[] x = ["bx"], y = ["by"], both = ["bx", "by"];
        var first = new List<ItemResponseRecorded>
        {
            A(1, "q1", x, true, 10), A(1, "q2", x, false, 20), A(1, "q3", both, true, 30),
            A(2, "q1", x, false, 10), A(2, "q4", y, true, 15),
        };
        var second = new List<ItemResponseRecorded>
        {
            A(1, "q5", x, true, 40),
            A(1, "q6", x, false, 5),            // older than the stored answers: the skill is replayed
            A(1, "q7", both, true, 50),
            A(1, "q5", x, true, 40),            // the same answer twice in one batch
            A(1, "q1", x, true, 10),            // already applied before this batch
            A(2, "q8", y, false, 30), A(2, "q9", y, true, 35),
            A(2, "q10", y, true, 25),           // older than an earlier answer of the same batch
            A(2, "q2", x, true, 10, attempt: 2), // same time as a stored answer, later attempt
            A(1, "q2", x, true, 20, attempt: 2),
        };
        return (first, second);
    }

    private sealed record StepRow(string Student, string SkillId, string ItemId, int AttemptNumber, bool Correct, DateTimeOffset AnsweredAt, double ProbabilityAfter);

    private sealed record MasteryRow(string Student, string SkillId, double ProbabilityMastered, double PeakProbability, int Attempts, int CorrectAnswers, bool Struggling);

    private async Task<(List<MasteryRow>, List<StepRow>)> StateAsync(string prefix)
    {
        var mastery = await Db(db => db.Mastery.AsNoTracking().Where(m => m.StudentId.StartsWith(prefix)).ToListAsync());
        var steps = await Db(db => db.Steps.AsNoTracking().Where(s => s.StudentId.StartsWith(prefix)).ToListAsync());
        var suffix = (string id) => id[prefix.Length..];
        return (
            [.. mastery.Select(m => new MasteryRow(suffix(m.StudentId), m.SkillId, m.ProbabilityMastered, m.PeakProbability, m.Attempts, m.CorrectAnswers, m.Struggling))
                .OrderBy(m => m.Student).ThenBy(m => m.SkillId)],
            [.. steps.Select(s => new StepRow(suffix(s.StudentId), s.SkillId, s.ItemId, s.AttemptNumber, s.Correct, s.AnsweredAt, s.ProbabilityAfter))
                .OrderBy(s => s.Student).ThenBy(s => s.SkillId).ThenBy(s => s.ItemId).ThenBy(s => s.AttemptNumber)]);
    }

    private Task<int> StepCountAsync(string prefix) => Db(db => db.Steps.CountAsync(s => s.StudentId.StartsWith(prefix)));

    [Fact]
    public async Task A_batch_gives_the_same_mastery_rows_and_steps_as_its_answers_one_by_one_and_one_event_per_student_with_each_skill_once()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var (single, batched) = ($"single-{run}", $"batch-{run}");
        // 5 answers (6 steps) first, then 10 more of which 2 were applied before: 8 new answers, 9 new steps.
        const int stepsFirst = 6, stepsAll = 15;

        // One by one, waiting for each so the order is the batch's order.
        var (first, second) = Answers(single);
        var expectedSteps = 0;
        var seen = new HashSet<(string, string, int)>();
        foreach (var answer in first.Concat(second))
        {
            await Bus.Publish(answer);
            if (seen.Add((answer.StudentId, answer.ItemId, answer.AttemptNumber)))
            {
                expectedSteps += answer.SkillIds.Count;
                await Eventually.WaitAsync(() => StepCountAsync(single), n => n == expectedSteps, TimeSpan.FromSeconds(30));
            }
        }

        (first, second) = Answers(batched);
        await Bus.Publish(new ItemResponseBatchRecorded(first));
        await Eventually.WaitAsync(() => StepCountAsync(batched), n => n == stepsFirst, TimeSpan.FromSeconds(30));
        // The first batch touched 4 (student, skill) pairs of 2 students: one event a student, each skill once in it.
        await Eventually.WaitAsync(() => Task.FromResult(Changes.Count(c => c.StudentId.StartsWith(batched, StringComparison.Ordinal))), n => n >= 4, TimeSpan.FromSeconds(30));
        await Task.Delay(300);
        Assert.Equal(4, Changes.Count(c => c.StudentId.StartsWith(batched, StringComparison.Ordinal)));
        List<StudentMasteryChanged> firstEvents = [.. Events.Where(e => e.StudentId.StartsWith(batched, StringComparison.Ordinal))];
        Assert.Equal([$"{batched}-1", $"{batched}-2"], firstEvents.Select(e => e.StudentId).Order().ToArray());
        Assert.All(firstEvents, e => Assert.Equal(["bx", "by"], e.Skills.Select(s => s.SkillId).Order().ToArray()));
        await Bus.Publish(new ItemResponseBatchRecorded(second));
        await Eventually.WaitAsync(() => StepCountAsync(batched), n => n == stepsAll, TimeSpan.FromSeconds(30));

        var (singleMastery, singleSteps) = await StateAsync(single);
        var (batchMastery, batchSteps) = await StateAsync(batched);
        Assert.Equal(stepsAll, singleSteps.Count);
        Assert.Equal(4, singleMastery.Count);
        Assert.Equal(singleMastery, batchMastery);
        Assert.Equal(singleSteps, batchSteps);
        // The out-of-order answers really replayed: the first stored step of student 1's bx now follows q6 (answered earlier).
        var q6 = batchSteps.Single(s => s.Student == "-1" && s.ItemId == "q6");
        var q1 = batchSteps.Single(s => s.Student == "-1" && s.ItemId == "q1" && s.SkillId == "bx");
        var bx = Domain.SkillParameters.Of(await Db(db => db.Skills.AsNoTracking().SingleAsync(s => s.SkillId == "bx")));
        Assert.Equal(Domain.KnowledgeTracing.Update(q6.ProbabilityAfter, true, bx), q1.ProbabilityAfter, 12);

        // The second batch touched the 4 pairs again: one event each, with the final value.
        await Eventually.WaitAsync(() => Task.FromResult(Changes.Count(c => c.StudentId.StartsWith(batched, StringComparison.Ordinal))), n => n >= 8, TimeSpan.FromSeconds(30));
        await Task.Delay(500);
        List<MasteryChanged> changes = [.. Changes.Where(c => c.StudentId.StartsWith(batched, StringComparison.Ordinal))];
        Assert.Equal(8, changes.Count);
        foreach (var row in batchMastery)
        {
            var last = changes.Last(c => c.StudentId == batched + row.Student && c.SkillId == row.SkillId);
            Assert.Equal(row.ProbabilityMastered, last.ProbabilityMastered);
            Assert.Equal(row.Attempts, last.Attempts);
        }
        Assert.Equal(4, Events.Count(e => e.StudentId.StartsWith(batched, StringComparison.Ordinal)));
        // One by one published one event per answer (13 answers, 2 seen before) with each of its skills (15 steps).
        Assert.Equal(stepsAll, Changes.Count(c => c.StudentId.StartsWith(single, StringComparison.Ordinal)));
        Assert.Equal(13, Events.Count(e => e.StudentId.StartsWith(single, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_redelivered_batch_changes_nothing_and_publishes_nothing()
    {
        var student = $"redeliver-{Guid.NewGuid():N}"[..20];
        var id = NewId.NextGuid();
        var batch = new ItemResponseBatchRecorded(
        [
            new(student, "r1", ["rx"], true, 1, 0, 30, Start),
            new(student, "r2", ["rx"], false, 1, 0, 30, Start.AddMinutes(1)),
        ]);
        await Bus.Publish(batch, ctx => ctx.MessageId = id);
        var mastery = await Eventually.WaitAsync(() => Db(db => db.Mastery.AsNoTracking().SingleOrDefaultAsync(m => m.StudentId == student)),
            m => m?.Attempts == 2, TimeSpan.FromSeconds(30));
        Assert.True(await Db(db => db.Set<InboxMessage>().AnyAsync(m => m.MessageId == id)));
        await Eventually.WaitAsync(() => Task.FromResult(Changes.Count(c => c.StudentId == student)), n => n == 1, TimeSpan.FromSeconds(30));

        // The same message again, then the same id carrying one more answer: only the inbox can tell it was
        // processed (natural keys would let the new answer through). A marker batch after them shows both were consumed.
        await Bus.Publish(batch, ctx => ctx.MessageId = id);
        await Bus.Publish(new ItemResponseBatchRecorded([.. batch.Records, new(student, "r3", ["rx"], true, 1, 0, 30, Start.AddMinutes(2))]), ctx => ctx.MessageId = id);
        await Bus.Publish(new ItemResponseBatchRecorded([new(student, "marker", ["marker"], true, 1, 0, 30, Start)]));
        await Eventually.WaitAsync(() => Db(db => db.Mastery.AnyAsync(m => m.StudentId == student && m.SkillId == "marker")), found => found, TimeSpan.FromSeconds(30));
        await Eventually.WaitAsync(() => Task.FromResult(Changes.Count(c => c.StudentId == student)), n => n == 2, TimeSpan.FromSeconds(30));
        await Task.Delay(500);

        var after = await Db(db => db.Mastery.AsNoTracking().SingleAsync(m => m.StudentId == student && m.SkillId == "rx"));
        Assert.Equal(2, after.Attempts);
        Assert.Equal(mastery!.ProbabilityMastered, after.ProbabilityMastered);
        Assert.Equal(mastery.UpdatedAt, after.UpdatedAt);
        Assert.Equal(3, await Db(db => db.Steps.CountAsync(s => s.StudentId == student)));
        Assert.Equal(2, Changes.Count(c => c.StudentId == student));
        Assert.Equal(["marker", "rx"], Changes.Where(c => c.StudentId == student).Select(c => c.SkillId).Order().ToArray());
    }
}
