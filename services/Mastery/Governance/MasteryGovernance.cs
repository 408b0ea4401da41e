using Beacon.Governance;
using Beacon.Mastery.Storage;
using Beacon.Messaging;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Mastery.Governance;

/// <summary>
/// Erases a student from Mastery: mastery rows, applied answers, the step history behind trends and refits,
/// the roster and section projections and outbox events about them. Fitted skill parameters are aggregates over many
/// students and are kept (they hold no student id).
/// </summary>
public sealed class StudentErasureConsumer(MasteryDbContext db, ErasedStudentsCache tombstones, TimeProvider clock)
    : StudentErasureConsumer<MasteryDbContext>(db, tombstones, clock)
{
    protected override string Service => "mastery";

    protected override async Task<Dictionary<string, int>> DeleteRowsAsync(string studentId, CancellationToken ct) => new()
    {
        ["Mastery"] = await Db.Mastery.Where(m => m.StudentId == studentId).ExecuteDeleteAsync(ct),
        ["AppliedResponses"] = await Db.AppliedResponses.Where(r => r.StudentId == studentId).ExecuteDeleteAsync(ct),
        ["Steps"] = await Db.Steps.Where(s => s.StudentId == studentId).ExecuteDeleteAsync(ct),
        ["Students"] = await Db.Students.Where(s => s.StudentId == studentId).ExecuteDeleteAsync(ct),
        ["SectionMembers"] = await Db.SectionMembers.Where(m => m.PersonId == studentId).ExecuteDeleteAsync(ct),
    };
}

public static class MasteryGovernance
{
    /// <summary>The erasure consumer and the tombstone filter on every consumer; call inside AddServiceBus.</summary>
    public static IBusRegistrationConfigurator AddMasteryErasure(this IBusRegistrationConfigurator bus) =>
        bus.AddStudentErasure<StudentErasureConsumer, MasteryDbContext>();

    /// <summary>
    /// Retention:AnswerHistory (applied answers and mastery steps, by answer time; an answer older than the period
    /// that is sent again would be applied again, so keep it longer than any replay), Retention:OutboxSent and
    /// Retention:ProcessedMessages (the inbox of answer batches).
    /// </summary>
    public static IHostApplicationBuilder AddMasteryRetention(this IHostApplicationBuilder builder) =>
        builder.AddRetention(
            new("AnswerHistory", async (sp, cutoff, ct) =>
            {
                var db = sp.GetRequiredService<MasteryDbContext>();
                return await db.DeleteOlderThanAsync<MasteryStep>(s => s.AnsweredAt, cutoff, ct)
                    + await db.DeleteOlderThanAsync<AppliedResponse>(r => r.AnsweredAt, cutoff, ct);
            }),
            OutboxErasure.OutboxSentRule<MasteryDbContext>(),
            OutboxErasure.InboxRule<MasteryDbContext>());
}
