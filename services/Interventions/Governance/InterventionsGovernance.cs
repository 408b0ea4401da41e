using Beacon.Contracts.Events;
using Beacon.Interventions.Storage;
using Beacon.ServiceDefaults;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Interventions.Governance;

/// <summary>
/// Erases a student from Interventions: their cases are deleted with their alerts links, notes and activity
/// (free text about the student cannot be pseudonymised reliably, so it goes), the attendance projection and
/// the outbox events about them. The effect report then no longer counts those cases.
/// </summary>
public sealed class StudentErasureConsumer(InterventionsDbContext db, ErasedStudentsCache tombstones, TimeProvider clock) : IConsumer<StudentErasureRequested>
{
    public const string Service = "interventions";

    public async Task Consume(ConsumeContext<StudentErasureRequested> context)
    {
        var (requestId, studentId) = (context.Message.RequestId, context.Message.StudentId);
        var now = clock.GetUtcNow();
        await db.EraseAsync(tombstones, studentId, requestId, now, async ct =>
        {
            var cases = db.Cases.Where(c => c.StudentId == studentId).Select(c => c.CaseId);
            return new Dictionary<string, int>
            {
                ["CaseAlerts"] = await db.CaseAlerts.Where(a => cases.Contains(a.CaseId)).ExecuteDeleteAsync(ct),
                ["Activity"] = await db.Activity.Where(a => cases.Contains(a.CaseId)).ExecuteDeleteAsync(ct),
                ["Cases"] = await db.Cases.Where(c => c.StudentId == studentId).ExecuteDeleteAsync(ct),
                ["Attendance"] = await db.Attendance.Where(a => a.StudentId == studentId).ExecuteDeleteAsync(ct),
                ["outbox"] = await db.DeleteOutboxOfStudentAsync(studentId, ct),
            };
        }, rows => db.Publish(new StudentErasureConfirmed(requestId, studentId, Service, rows, now)), context.CancellationToken);
    }
}

public static class InterventionsGovernance
{
    /// <summary>The erasure consumer and the tombstone filter on every consumer; call inside AddServiceBus.</summary>
    public static IBusRegistrationConfigurator AddInterventionsErasure(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<StudentErasureConsumer>();
        bus.AddErasedStudentFilter<InterventionsDbContext>();
        return bus;
    }

    /// <summary>
    /// Retention:EndedCases (cases completed or closed before the cutoff, with their notes, activity and alert
    /// links; active cases are never purged), Retention:AttendanceDays, Retention:OutboxSent, Retention:ProcessedMessages.
    /// </summary>
    public static IHostApplicationBuilder AddInterventionsRetention(this IHostApplicationBuilder builder) =>
        builder.AddRetention(
            new("EndedCases", (sp, cutoff, ct) => PurgeEndedCasesAsync(sp.GetRequiredService<InterventionsDbContext>(), cutoff, ct)),
            new("AttendanceDays", (sp, cutoff, ct) => sp.GetRequiredService<InterventionsDbContext>().DeleteOlderThanAsync<AttendanceDay>(a => a.Date, cutoff, ct)),
            OutboxErasure.OutboxSentRule<InterventionsDbContext>(),
            OutboxErasure.InboxRule<InterventionsDbContext>());

    private static async Task<int> PurgeEndedCasesAsync(InterventionsDbContext db, DateTimeOffset cutoff, CancellationToken ct)
    {
        // EndedAt is compared in memory (SQLite cannot compare DateTimeOffset); ended cases are few next to signals.
        var ended = (await db.Cases.AsNoTracking().Where(c => c.EndedAt != null).Select(c => new { c.CaseId, c.EndedAt }).ToListAsync(ct))
            .Where(c => c.EndedAt < cutoff).Select(c => c.CaseId).ToList();
        var deleted = 0;
        foreach (var batch in ended.Chunk(500))
        {
            await db.CaseAlerts.Where(a => batch.Contains(a.CaseId)).ExecuteDeleteAsync(ct);
            await db.Activity.Where(a => batch.Contains(a.CaseId)).ExecuteDeleteAsync(ct);
            deleted += await db.Cases.Where(c => batch.Contains(c.CaseId)).ExecuteDeleteAsync(ct);
        }
        return deleted;
    }
}
