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

/// <summary>Runs <see cref="OverdueCheck"/> on a timer.</summary>
public sealed class OverdueScanner(IServiceScopeFactory scopes, IOptions<InterventionsOptions> options, TimeProvider clock, ILogger<OverdueScanner> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.OverdueScanInterval, clock);
        try
        {
            do
            {
                await RunOnceAsync(stoppingToken);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RunOnceAsync(CancellationToken ct)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var escalated = await scope.ServiceProvider.GetRequiredService<OverdueCheck>().RunAsync(clock.GetUtcNow(), ct);
            if (escalated > 0)
            {
                logger.LogInformation("Escalated {Count} overdue case(s)", escalated);
            }
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            // Database briefly unavailable: the next tick tries again; nothing was marked escalated.
            logger.LogWarning(ex, "Overdue check failed; retrying next tick");
        }
    }
}
