using Beacon.Contracts.Events;
using Beacon.Interventions.Storage;
using Beacon.Messaging;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.Interventions.Domain;

/// <summary>
/// Finds active cases whose student was not contacted by the contact deadline (school days) and
/// escalates each once: InterventionOverdue goes to Notifications, which tells the coordinators.
/// </summary>
public sealed class OverdueCheck(InterventionsDbContext db, IOptions<InterventionsOptions> options)
{
    public async Task<int> RunAsync(DateTimeOffset now, CancellationToken ct)
    {
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var calendar = options.Value.Calendar();
        var overdue = await db.Cases
            .Where(c => CaseStatuses.Active.Contains(c.Status) && c.FirstContactAt == null && c.EscalatedAt == null && c.ContactDueBy < today)
            .ToListAsync(ct);
        foreach (var c in overdue)
        {
            var late = calendar.SchoolDaysBetween(c.ContactDueBy, today);
            if (late == 0)
            {
                // Only non-school days have passed since the deadline (weekend, holiday).
                continue;
            }
            c.EscalatedAt = now;
            CaseWorkflow.Log(c, now, ActivityKinds.Escalated, "sla",
                $"Not contacted by {c.ContactDueBy:yyyy-MM-dd} ({late} school day(s) late); escalated to the coordinator.");
            db.Publish(new InterventionOverdue(c.CaseId, c.StudentId, c.SchoolId, c.AssignedTo, c.ContactDueBy, late, now));
        }
        await db.SaveChangesAsync(ct);
        return overdue.Count(c => c.EscalatedAt == now);
    }
}

/// <summary>
/// Runs <see cref="OverdueCheck"/> every OverdueScanInterval, once per interval across replicas (a lease in the database,
/// <see cref="ScheduledJobs{TContext}"/>): two replicas scanning at once could both escalate a case before either commits.
/// </summary>
public sealed class OverdueScanner(ScheduledJobs<InterventionsDbContext> jobs, IOptions<InterventionsOptions> options, ILogger<OverdueScanner> logger)
    : BackgroundService
{
    public const string Job = "overdue-scan";

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.OverdueScanInterval;
        var poll = interval < TimeSpan.FromSeconds(30) ? interval : TimeSpan.FromSeconds(30);
        return jobs.RunAsync(Job, $"every {interval}", now => now + interval, poll, TimeSpan.FromMinutes(2), async run =>
        {
            var escalated = await run.Services.GetRequiredService<OverdueCheck>().RunAsync(run.StartedAt, run.CancellationToken);
            if (escalated > 0)
            {
                logger.LogInformation("Escalated {Count} overdue case(s)", escalated);
            }
            return new ScheduledResult($"escalated {escalated} case(s)", escalated);
        }, stoppingToken);
    }
}
