using Beacon.Contracts.Events;
using Beacon.Mastery.Storage;
using Beacon.ServiceDefaults;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Mastery.Governance;

/// <summary>
/// Erases a student from Mastery: mastery rows, applied answers, the step history behind trends and refits,
/// the roster projection and outbox events about them. Fitted skill parameters are aggregates over many
/// students and are kept (they hold no student id).
/// </summary>
public sealed class StudentErasureConsumer(MasteryDbContext db, ErasedStudentsCache tombstones, TimeProvider clock) : IConsumer<StudentErasureRequested>
{
    public const string Service = "mastery";

    public async Task Consume(ConsumeContext<StudentErasureRequested> context)
    {
        var (requestId, studentId) = (context.Message.RequestId, context.Message.StudentId);
        var now = clock.GetUtcNow();
        await db.EraseAsync(tombstones, studentId, requestId, now, async ct => new Dictionary<string, int>
        {
            ["Mastery"] = await db.Mastery.Where(m => m.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["AppliedResponses"] = await db.AppliedResponses.Where(r => r.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["Steps"] = await db.Steps.Where(s => s.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["Students"] = await db.Students.Where(s => s.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["outbox"] = await db.DeleteOutboxOfStudentAsync(studentId, ct),
        }, rows => db.Publish(new StudentErasureConfirmed(requestId, studentId, Service, rows, now)), context.CancellationToken);
    }
}

public static class MasteryGovernance
{
    /// <summary>The erasure consumer and the tombstone filter on every consumer; call inside AddServiceBus.</summary>
    public static IBusRegistrationConfigurator AddMasteryErasure(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<StudentErasureConsumer>();
        bus.AddErasedStudentFilter<MasteryDbContext>();
        return bus;
    }

    /// <summary>
    /// Retention:AnswerHistory (applied answers and mastery steps, by answer time; an answer older than the period
    /// that is sent again would be applied again, so keep it longer than any replay) and Retention:OutboxSent.
    /// </summary>
    public static IHostApplicationBuilder AddMasteryRetention(this IHostApplicationBuilder builder) =>
        builder.AddRetention(
            new("AnswerHistory", async (sp, cutoff, ct) =>
            {
                var db = sp.GetRequiredService<MasteryDbContext>();
                return await db.DeleteOlderThanAsync<MasteryStep>(s => s.AnsweredAt, cutoff, ct)
                    + await db.DeleteOlderThanAsync<AppliedResponse>(r => r.AnsweredAt, cutoff, ct);
            }),
            OutboxErasure.OutboxSentRule<MasteryDbContext>());
}
