using Beacon.EarlyWarning.Scoring;
using Microsoft.Extensions.Options;

namespace Beacon.EarlyWarning.Monitoring;

/// <summary>
/// Once a day at DailyAt local time, for each kind with an active model (chronic absence, dropout): the drift check as of yesterday,
/// then the false-positive-rate rule of the retraining policy. A missed day is not caught up.
/// </summary>
public sealed class MonitoringSchedule(IServiceScopeFactory scopes, IOptions<MonitoringOptions> options, TimeProvider clock, ILogger<MonitoringSchedule> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled || !settings.TryGetAt(out var at))
        {
            return;
        }
        var next = NextAfter(clock.GetUtcNow(), at);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(settings.PollInterval, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            var now = clock.GetUtcNow();
            if (now < next)
            {
                continue;
            }
            await RunAsync(now, stoppingToken);
            next = NextAfter(now, at);
        }
    }

    private DateTimeOffset NextAfter(DateTimeOffset now, TimeOnly at) =>
        new NightlyRescoreOptions { NightlyAt = at.ToString("HH:mm") }.NextAfter(now, clock.LocalTimeZone);

    private async Task RunAsync(DateTimeOffset now, CancellationToken ct)
    {
        foreach (var kind in ScoredKinds.All)
        {
            await RunAsync(kind, now, ct);
        }
    }

    private async Task RunAsync(string kind, DateTimeOffset now, CancellationToken ct)
    {
        await using (var scope = scopes.CreateAsyncScope())
        {
            if (await scope.ServiceProvider.GetRequiredService<RiskScoring>().ActiveAsync(kind, ct) is null)
            {
                return;
            }
        }
        var asOf = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, clock.LocalTimeZone).Date).AddDays(-1);
        // Two checks, each on its own: a drift check refused (too few students) must not skip the false-positive rule.
        await GuardAsync("drift check", kind, sp => sp.GetRequiredService<DriftMonitor>().RunAsync(kind, asOf, "scheduled", ct));
        await GuardAsync("false-positive check", kind, async sp =>
        {
            var weeks = await sp.GetRequiredService<MonitoringReport>().WeeklyAsync(kind, ct);
            await sp.GetRequiredService<RetrainingPolicy>().CheckFalsePositiveRateAsync(kind, weeks, ct);
        });
    }

    private async Task GuardAsync(string what, string kind, Func<IServiceProvider, Task> check)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            await check(scope.ServiceProvider);
        }
        catch (ModelRegistryException e)
        {
            logger.LogInformation("Daily {Check} of {Kind} skipped: {Reason}", what, kind, e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A failed day must not stop the host; tomorrow tries again.
            logger.LogError(e, "Daily {Check} of {Kind} failed", what, kind);
        }
    }
}
