using Beacon.Contracts.Events;
using Beacon.Notifications.Storage;
using Beacon.ServiceDefaults;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Notifications.Governance;

/// <summary>
/// Erases a student from Notifications: feed entries and deliveries (e-mails, webhooks; pending ones are not
/// sent) about the student, and the outbox events about them. Staff, preferences are not student data.
/// </summary>
public sealed class StudentErasureConsumer(NotificationsDbContext db, ErasedStudentsCache tombstones, TimeProvider clock) : IConsumer<StudentErasureRequested>
{
    public const string Service = "notifications";

    public async Task Consume(ConsumeContext<StudentErasureRequested> context)
    {
        var (requestId, studentId) = (context.Message.RequestId, context.Message.StudentId);
        var now = clock.GetUtcNow();
        await db.EraseAsync(tombstones, studentId, requestId, now, async ct => new Dictionary<string, int>
        {
            ["Feed"] = await db.Feed.Where(f => f.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["Deliveries"] = await db.Deliveries.Where(d => d.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["outbox"] = await db.DeleteOutboxOfStudentAsync(studentId, ct),
        }, rows => db.Publish(new StudentErasureConfirmed(requestId, studentId, Service, rows, now)), context.CancellationToken);
    }
}

public static class NotificationsGovernance
{
    /// <summary>The erasure consumer and the tombstone filter on every consumer; call inside AddServiceBus.</summary>
    public static IBusRegistrationConfigurator AddNotificationsErasure(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<StudentErasureConsumer>();
        bus.AddErasedStudentFilter<NotificationsDbContext>();
        return bus;
    }

    /// <summary>Retention:FeedEntries, Retention:Deliveries (by creation time, whatever their status), Retention:OutboxSent.</summary>
    public static IHostApplicationBuilder AddNotificationsRetention(this IHostApplicationBuilder builder) =>
        builder.AddRetention(
            new("FeedEntries", (sp, cutoff, ct) => sp.GetRequiredService<NotificationsDbContext>().DeleteOlderThanAsync<FeedEntry>(f => f.CreatedAt, cutoff, ct)),
            new("Deliveries", (sp, cutoff, ct) => sp.GetRequiredService<NotificationsDbContext>().DeleteOlderThanAsync<Delivery>(d => d.CreatedAt, cutoff, ct)),
            OutboxErasure.OutboxSentRule<NotificationsDbContext>());
}
