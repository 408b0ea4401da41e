using Beacon.Contracts.Events;
using Beacon.Mastery.Storage;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.Mastery.Tests;

/// <summary>
/// xAPI voiding through the real broker: a voided answer leaves the student's mastery exactly as if it had never been
/// given (the same value as a student who never gave it), a voiding that arrives before its answer keeps the answer out,
/// and a voiding delivered twice changes nothing.
/// </summary>
public sealed class VoidedAnswerTests : IAsyncLifetime
{
    private readonly ServiceFactory<Program> _service = new();
    private static readonly DateTimeOffset Start = DateTimeOffset.UtcNow.AddHours(-2);

    public Task InitializeAsync() => _service.WaitUntilReadyAsync();

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private IBus Bus => _service.Services.GetRequiredService<IBus>();

    private Task<StudentSkillMastery?> MasteryAsync(string student, string skill) =>
        _service.WithDbAsync<MasteryDbContext, StudentSkillMastery?>(db => db.Mastery.AsNoTracking().FirstOrDefaultAsync(m => m.StudentId == student && m.SkillId == skill));

    private static ItemResponseRecorded Answer(string student, string item, bool correct, int minute) =>
        new(student, item, ["vx"], correct, 1, 0, 30, Start.AddMinutes(minute));

    private async Task AnswerAllAsync(string student, IEnumerable<ItemResponseRecorded> answers)
    {
        var list = answers.ToList();
        foreach (var answer in list)
        {
            await Bus.Publish(answer);
        }
        await Eventually.WaitAsync(() => MasteryAsync(student, "vx"), m => m?.Attempts == list.Count, TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task A_voided_answer_leaves_mastery_as_if_it_had_never_been_given()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var (voided, control) = ($"{run}-voided", $"{run}-control");
        // The same answers, but the control never gave the (correct) second one.
        await AnswerAllAsync(voided, [Answer(voided, "q1", false, 1), Answer(voided, "q2", true, 2), Answer(voided, "q3", false, 3), Answer(voided, "q4", false, 4)]);
        await AnswerAllAsync(control, [Answer(control, "q1", false, 1), Answer(control, "q3", false, 3), Answer(control, "q4", false, 4)]);
        var before = (await MasteryAsync(voided, "vx"))!;

        var voiding = new LearningRecordVoided(Guid.NewGuid().ToString(), voided, "answer", "q2", 1, DateTimeOffset.UtcNow);
        await Bus.Publish(voiding);
        var after = await Eventually.WaitAsync(() => MasteryAsync(voided, "vx"), m => m?.Attempts == 3, TimeSpan.FromSeconds(60));
        var expected = (await MasteryAsync(control, "vx"))!;
        Assert.NotEqual(before.ProbabilityMastered, after!.ProbabilityMastered);
        Assert.Equal(expected.ProbabilityMastered, after.ProbabilityMastered, 12);
        Assert.Equal((expected.Attempts, expected.CorrectAnswers, expected.PeakProbability), (after.Attempts, after.CorrectAnswers, after.PeakProbability));
        Assert.Equal(3, await _service.WithDbAsync<MasteryDbContext, int>(db => db.Steps.CountAsync(s => s.StudentId == voided)));

        // Delivered again, and the answer itself redelivered: nothing moves.
        await Bus.Publish(voiding);
        await Bus.Publish(Answer(voided, "q2", true, 2));
        await Task.Delay(2000);
        var again = (await MasteryAsync(voided, "vx"))!;
        Assert.Equal((after.ProbabilityMastered, after.Attempts, after.Version), (again.ProbabilityMastered, again.Attempts, again.Version));
    }

    [Fact]
    public async Task A_voiding_that_arrives_before_its_answer_keeps_the_answer_out()
    {
        var student = $"{Guid.NewGuid():N}"[..10] + "-early";
        await Bus.Publish(new LearningRecordVoided(Guid.NewGuid().ToString(), student, "answer", "q9", 1, DateTimeOffset.UtcNow));
        await Eventually.WaitAsync(() => _service.WithDbAsync<MasteryDbContext, bool>(db => db.AppliedResponses.AnyAsync(r => r.StudentId == student && r.Voided)), done => done, TimeSpan.FromSeconds(60));
        await Bus.Publish(Answer(student, "q9", true, 1));
        await AnswerAllAsync(student, [Answer(student, "q10", false, 2)]);
        var mastery = (await MasteryAsync(student, "vx"))!;
        Assert.Equal((1, 0), (mastery.Attempts, mastery.CorrectAnswers));
        // An LMS activity's voiding is not Mastery's business.
        await Bus.Publish(new LearningRecordVoided(Guid.NewGuid().ToString(), student, "activity", null, null, DateTimeOffset.UtcNow));
    }
}
