using Beacon.Governance;
using Beacon.Messaging;
using Beacon.Notifications.Storage;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Notifications.Governance;

/// <summary>
/// Erases a student from Notifications: feed entries, worklist entries and deliveries (e-mails, webhooks; pending ones are not
/// sent) about the student, and the outbox events about them. Staff, preferences are not student data.
/// </summary>
public sealed class StudentErasureConsumer(NotificationsDbContext db, ErasedStudentsCache tombstones, TimeProvider clock)
    : StudentErasureConsumer<NotificationsDbContext>(db, tombstones, clock)
{
    protected override string Service => "notifications";

    protected override async Task<Dictionary<string, int>> DeleteRowsAsync(string studentId, CancellationToken ct) => new()
    {
        ["Feed"] = await Db.Feed.Where(f => f.StudentId == studentId).ExecuteDeleteAsync(ct),
        ["Deliveries"] = await Db.Deliveries.Where(d => d.StudentId == studentId).ExecuteDeleteAsync(ct),
        ["Worklist"] = await Db.Worklist.Where(w => w.StudentId == studentId).ExecuteDeleteAsync(ct),
    };
}

public static class NotificationsGovernance
{
    /// <summary>The erasure consumer and the tombstone filter on every consumer; call inside AddServiceBus.</summary>
    public static IBusRegistrationConfigurator AddNotificationsErasure(this IBusRegistrationConfigurator bus) =>
        bus.AddStudentErasure<StudentErasureConsumer, NotificationsDbContext>();

    /// <summary>Retention:FeedEntries, Retention:WorklistEntries (by last update), Retention:Deliveries (by creation time, whatever their status), Retention:OutboxSent.</summary>
    public static IHostApplicationBuilder AddNotificationsRetention(this IHostApplicationBuilder builder) =>
        builder.AddRetention(
            new("FeedEntries", (sp, cutoff, ct) => sp.GetRequiredService<NotificationsDbContext>().DeleteOlderThanAsync<FeedEntry>(f => f.CreatedAt, cutoff, ct)),
            new("WorklistEntries", (sp, cutoff, ct) => sp.GetRequiredService<NotificationsDbContext>().DeleteOlderThanAsync<WorklistEntry>(w => w.UpdatedAt, cutoff, ct)),
            new("Deliveries", (sp, cutoff, ct) => sp.GetRequiredService<NotificationsDbContext>().DeleteOlderThanAsync<Delivery>(d => d.CreatedAt, cutoff, ct)),
            OutboxErasure.OutboxSentRule<NotificationsDbContext>());
}
