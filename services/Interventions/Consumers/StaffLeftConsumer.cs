using Beacon.Contracts.Events;
using Beacon.Interventions.Domain;
using Beacon.Interventions.Storage;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Interventions.Consumers;

/// <summary>
/// A staff member left the roster: the active cases they owned go back to the coordinator's unassigned list and they stop
/// helping on others (<see cref="CaseWorkflow.StaffLeft"/>). Idempotent: a redelivery finds nothing of theirs left to free.
/// </summary>
public sealed class StaffLeftConsumer(InterventionsDbContext db) : IConsumer<StaffLeft>
{
    public async Task Consume(ConsumeContext<StaffLeft> context)
    {
        var m = context.Message;
        // Helpers are a comma-separated list: Contains narrows in SQL, the exact check is CaseWorkflow's.
        var cases = await db.Cases.Where(c => CaseStatuses.Active.Contains(c.Status) && (c.AssignedTo == m.StaffId || c.Helpers.Contains(m.StaffId)))
            .ToListAsync(context.CancellationToken);
        foreach (var c in cases)
        {
            CaseWorkflow.StaffLeft(c, m.StaffId, m.Reason, m.OccurredAt);
        }
        await db.SaveChangesAsync(context.CancellationToken);
    }
}
