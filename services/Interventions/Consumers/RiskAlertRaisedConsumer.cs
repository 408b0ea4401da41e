using Beacon.Contracts.Events;
using Beacon.Interventions.Domain;
using Beacon.Interventions.Storage;
using Beacon.Messaging;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Interventions.Consumers;

/// <summary>
/// Opens an unassigned case for an alert, or attaches the alert to the student's case that is still
/// active. Idempotent on the alert id: a redelivered alert finds its link and changes nothing.
/// </summary>
public sealed class RiskAlertRaisedConsumer(InterventionsDbContext db, CaseOpener opener, TimeProvider clock) : IConsumer<RiskAlertRaised>
{
    public async Task Consume(ConsumeContext<RiskAlertRaised> context)
    {
        var alert = context.Message;
        var ct = context.CancellationToken;
        if (await db.CaseAlerts.AnyAsync(a => a.AlertId == alert.AlertId, ct))
        {
            return;
        }
        var link = new CaseAlert { AlertId = alert.AlertId, Kind = alert.Kind, RaisedAt = alert.RaisedAt };
        var active = await db.Cases.FirstOrDefaultAsync(c => c.StudentId == alert.StudentId && CaseStatuses.Active.Contains(c.Status), ct);
        if (active is not null)
        {
            link.CaseId = active.CaseId;
            db.CaseAlerts.Add(link);
            db.Activity.Add(new CaseActivity { CaseId = active.CaseId, At = clock.GetUtcNow(), Kind = ActivityKinds.AlertAttached, By = "alert", Text = alert.Reason });
        }
        else
        {
            var opened = opener.Open(alert.StudentId, alert.SchoolId, alert.Reason, "alert", alert.AlertId);
            link.CaseId = opened.CaseId;
            opened.Alerts.Add(link);
        }
        await db.SaveChangesAsync(ct);
    }
}

public sealed class RiskAlertRaisedConsumerDefinition : ConsumerDefinition<RiskAlertRaisedConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<RiskAlertRaisedConsumer> consumerConfigurator, IRegistrationContext context)
    {
        // Two alerts for one student must not both find "no active case".
        consumerConfigurator.Message<RiskAlertRaised>(m => m.UsePartitioner(8, ctx => Partitioning.ForStudent(ctx.Message.StudentId)));
    }
}
