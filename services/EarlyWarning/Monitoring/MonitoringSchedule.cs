using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.Messaging;
using Microsoft.Extensions.Options;

namespace Beacon.EarlyWarning.Monitoring;

/// <summary>
/// Once a day at DailyAt local time, for each kind with an active model (chronic absence, dropout): the drift check as of yesterday,
/// then the false-positive-rate rule of the retraining policy, then the expected-FPR band and the subgroup gaps (<see cref="FigureAlarms"/>). Once per day across replicas (a lease in the database, as the
/// nightly re-score); a day missed while every replica was down runs when one comes back.
/// </summary>
public sealed class MonitoringSchedule(ScheduledJobs<EarlyWarningDbContext> jobs, IServiceScopeFactory scopes, IOptions<MonitoringOptions> options,
    TimeProvider clock, ILogger<MonitoringSchedule> logger) : BackgroundService
{
    public const string Job = "daily-monitoring";

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled || !settings.TryGetAt(out var at))
        {
            return Task.CompletedTask;
        }
        return jobs.RunAsync(Job, $"daily {settings.DailyAt}", now => NextAfter(now, at), settings.PollInterval, settings.JobLease, async run =>
        {
            var outcomes = new List<string>();
            foreach (var kind in ScoredKinds.All)
            {
                outcomes.Add(await RunAsync(kind, run.StartedAt, run.CancellationToken));
            }
            return new ScheduledResult(string.Join("; ", outcomes.Where(o => o.Length > 0).DefaultIfEmpty("skipped: no active model")));
        }, stoppingToken);
    }

    private DateTimeOffset NextAfter(DateTimeOffset now, TimeOnly at) =>
        new NightlyRescoreOptions { NightlyAt = at.ToString("HH:mm") }.NextAfter(now, clock.LocalTimeZone);

    private async Task<string> RunAsync(string kind, DateTimeOffset now, CancellationToken ct)
    {
        await using (var scope = scopes.CreateAsyncScope())
        {
            if (await scope.ServiceProvider.GetRequiredService<RiskScoring>().ActiveAsync(kind, ct) is null)
            {
                return "";
            }
        }
        var asOf = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, clock.LocalTimeZone).Date).AddDays(-1);
        // Two checks, each on its own: a drift check refused (too few students) must not skip the false-positive rule.
        var drift = await GuardAsync("drift check", kind, async sp =>
        {
            var runs = await sp.GetRequiredService<DriftMonitor>().RunAsync(kind, asOf, "scheduled", ct);
            var notes = string.Concat(runs.Where(r => r.Note is not null).Select(r => $" ({r.Reference}: {r.Note})"));
            return (runs.Any(r => r.Alerted) ? "drift alarm" : "no drift alarm") + notes;
        });
        var fpr = await GuardAsync("false-positive check", kind, async sp =>
        {
            var weeks = await sp.GetRequiredService<MonitoringReport>().WeeklyAsync(kind, ct);
            var job = await sp.GetRequiredService<RetrainingPolicy>().CheckFalsePositiveRateAsync(kind, weeks, ct);
            return job is null ? "FPR checked" : "FPR above the bound, retraining started";
        });
        var figures = await GuardAsync("figures check", kind, sp => sp.GetRequiredService<FigureAlarms>().CheckAsync(kind, ct));
        return $"{kind}: {drift}, {fpr}, {figures}";
    }

    private async Task<string> GuardAsync(string what, string kind, Func<IServiceProvider, Task<string>> check)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            return await check(scope.ServiceProvider);
        }
        catch (ModelRegistryException e)
        {
            logger.LogInformation("Daily {Check} of {Kind} skipped: {Reason}", what, kind, e.Message);
            return $"{what} skipped ({e.Message})";
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A failed check must not skip the other one; tomorrow tries again.
            logger.LogError(e, "Daily {Check} of {Kind} failed", what, kind);
            return $"{what} failed ({e.Message})";
        }
    }
}
