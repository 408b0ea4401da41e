using Beacon.Contracts.Events;
using Beacon.Contracts.Ingestion;
using Beacon.Notifications.Storage;
using Beacon.ServiceDefaults;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Notifications.Consumers;

/// <summary>
/// Puts an alert in the in-app feed of every counselor of the student's school. The counselors are
/// asked of Ingestion over gRPC (the answer is needed now); if Ingestion is down the message is
/// retried, then parked in the error queue, never dropped. Redelivery adds no second entry.
/// </summary>
public sealed class RiskAlertRaisedConsumer(NotificationsDbContext db, Roster.RosterClient roster, TimeProvider clock)
    : IConsumer<RiskAlertRaised>
{
    public const string InAppChannel = "in-app";
    public const string RiskAlertKind = "risk-alert";

    public async Task Consume(ConsumeContext<RiskAlertRaised> context)
    {
        var alert = context.Message;
        var ct = context.CancellationToken;
        var counselors = await roster.ListSchoolCounselorsAsync(new ListSchoolCounselorsRequest { SchoolId = alert.SchoolId }, cancellationToken: ct);
        var alreadyTold = (await db.Feed.Where(f => f.SourceEventId == alert.AlertId).Select(f => f.StaffId).ToListAsync(ct)).ToHashSet();
        var now = clock.GetUtcNow();
        foreach (var counselor in counselors.Counselors.Where(c => !alreadyTold.Contains(c.StaffId)))
        {
            var entry = new FeedEntry
            {
                EntryId = NewId.NextGuid(),
                StaffId = counselor.StaffId,
                SourceEventId = alert.AlertId,
                Kind = RiskAlertKind,
                StudentId = alert.StudentId,
                Title = $"Student {alert.StudentId} is at risk: {alert.Kind}",
                Body = alert.Reason,
                CreatedAt = now,
            };
            db.Feed.Add(entry);
            db.Publish(new NotificationDelivered(entry.EntryId, entry.StaffId, InAppChannel, entry.Kind, alert.AlertId, now));
        }
        await db.SaveChangesAsync(ct);
    }
}
