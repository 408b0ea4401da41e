using Beacon.EarlyWarning.Scoring;
using Beacon.RiskModels.Attendance;
using Microsoft.Extensions.Options;

namespace Beacon.EarlyWarning.Monitoring;

/// <summary>
/// Once a day at DailyAt local time: the drift check of the active chronic-absence model as of yesterday,
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
        const string kind = AttendanceFeatures.Kind;
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var asOf = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, clock.LocalTimeZone).Date).AddDays(-1);
            await scope.ServiceProvider.GetRequiredService<DriftMonitor>().RunAsync(kind, asOf, "scheduled", ct);
            var weeks = await scope.ServiceProvider.GetRequiredService<MonitoringReport>().WeeklyAsync(kind, ct);
            await scope.ServiceProvider.GetRequiredService<RetrainingPolicy>().CheckFalsePositiveRateAsync(kind, weeks, ct);
        }
        catch (ModelRegistryException e)
        {
            logger.LogInformation("Daily monitoring skipped: {Reason}", e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A failed day must not stop the host; tomorrow tries again.
            logger.LogError(e, "Daily monitoring failed");
        }
    }
}
