using Beacon.Contracts.Events;
using Beacon.Contracts.Ingestion;
using Beacon.Notifications.Domain;
using Beacon.Notifications.Storage;
using MassTransit;

namespace Beacon.Notifications.Consumers;

/// <summary>
/// Tells every counselor of the student's school about an alert. The counselors are asked of
/// Ingestion over gRPC (the answer is needed now; remembered for a short time, see <see cref="SchoolCounselors"/>);
/// if Ingestion is down the message is retried, then parked in the error queue, never dropped. Redelivery
/// adds no second entry or delivery.
/// </summary>
public sealed class RiskAlertRaisedConsumer(NotificationsDbContext db, Roster.RosterClient roster, SchoolCounselors schoolCounselors, Notifier notifier)
    : IConsumer<RiskAlertRaised>
{
    public const string InAppChannel = Channels.InApp;
    public const string RiskAlertKind = EventKinds.RiskAlert;

    public async Task Consume(ConsumeContext<RiskAlertRaised> context)
    {
        var alert = context.Message;
        var ct = context.CancellationToken;
        var (counselors, fresh) = await schoolCounselors.ForSchoolAsync(roster, alert.SchoolId, ct);
        if (fresh)
        {
            foreach (var c in counselors)
            {
                // The roster's answer is the freshest address we have.
                await StaffAssignedConsumer.UpsertAsync(db, c.StaffId, c.SchoolId, c.Role, $"{c.GivenName} {c.FamilyName}".Trim(), c.Email, ct);
            }
        }
        var notice = new Notice(alert.AlertId, EventKinds.RiskAlert, alert.StudentId, $"Student {alert.StudentId} is at risk: {alert.Kind}", alert.Reason);
        await notifier.NotifyAsync(counselors.Select(c => c.StaffId).ToList(), notice, ct);
        await db.SaveChangesAsync(ct);
    }
}
