using Microsoft.Extensions.Options;

namespace Beacon.Mastery.Domain;

/// <summary>Refits every skill every <see cref="MasteryOptions.RefitEvery"/> (off when unset).</summary>
public sealed class ScheduledRefit(IServiceScopeFactory scopes, IOptions<MasteryOptions> options, ILogger<ScheduledRefit> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.RefitEvery is not { } every || every <= TimeSpan.Zero)
        {
            return;
        }
        using var timer = new PeriodicTimer(every);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var outcomes = await scope.ServiceProvider.GetRequiredService<SkillRefitter>().RefitAsync(stoppingToken);
                logger.LogInformation("Scheduled refit: {Fitted} of {Skills} skills fitted", outcomes.Count(o => o.Fitted), outcomes.Count);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A failed refit keeps the current parameters; the next tick tries again.
                logger.LogError(ex, "Scheduled refit failed");
            }
        }
    }
}
