using Beacon.EarlyWarning.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Beacon.EarlyWarning.Scoring;

/// <summary>
/// At start, every active model version is loaded from the database and run once (<see cref="RiskModel.Warm"/>) before
/// the replica reports ready: otherwise the first student scored after a deploy or a restart pays for reading the zip,
/// building ML.NET's pipeline and compiling the prediction and explanation paths, on the way to a counselor's alert
/// (issue #24 item 3). A version that cannot be loaded is logged and left to the scoring path, which refuses it there
/// with the reason; readiness is not held back for it.
/// </summary>
public sealed class ActiveModelsWarmUp(IServiceScopeFactory scopes, LoadedModels models, ILogger<ActiveModelsWarmUp> logger)
    : BackgroundService, IHealthCheck
{
    private volatile bool _done;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            List<ModelVersionRecord> active;
            await using (var scope = scopes.CreateAsyncScope())
            {
                active = await scope.ServiceProvider.GetRequiredService<EarlyWarningDbContext>().Models.AsNoTracking()
                    .Where(m => m.Status == ModelStatus.Active).ToListAsync(stoppingToken);
            }
            foreach (var record in active)
            {
                try
                {
                    await Task.Run(() => models.Get(record), stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogError(ex, "The active {Kind} v{Version} could not be loaded at start", record.Kind, record.Version);
                }
            }
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or InvalidOperationException)
        {
            logger.LogError(ex, "The active models could not be listed at start: they load on first use");
        }
        finally
        {
            _done = true;
        }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_done ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("loading and warming the active models"));
}
