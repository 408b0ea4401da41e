using System.Globalization;
using Microsoft.Extensions.Options;

namespace Beacon.EarlyWarning.Scoring;

public sealed class NightlyRescoreOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>Local time of day (the clock's local time zone), "HH:mm".</summary>
    public string NightlyAt { get; set; } = "02:00";

    /// <summary>How often the job looks at the clock; a nightly job needs no finer grain.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);

    public bool TryGetAt(out TimeOnly at) => TimeOnly.TryParseExact(NightlyAt, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out at);

    public TimeOnly At => TryGetAt(out var at) ? at : throw new InvalidOperationException(InvalidMessage);

    public const string InvalidMessage = "EarlyWarning:Scoring:NightlyAt must be a local time \"HH:mm\", e.g. \"02:00\".";

    /// <summary>The first NightlyAt strictly after <paramref name="now"/>, in the given zone.</summary>
    public DateTimeOffset NextAfter(DateTimeOffset now, TimeZoneInfo zone)
    {
        var local = TimeZoneInfo.ConvertTime(now, zone);
        var candidate = local.Date + At.ToTimeSpan();
        if (candidate <= local.DateTime)
        {
            candidate = candidate.AddDays(1);
        }
        return new DateTimeOffset(candidate, zone.GetUtcOffset(candidate));
    }
}

/// <summary>What the nightly re-score did last; in memory, so it resets when the service restarts.</summary>
public sealed class NightlyRescoreStatus
{
    private readonly Lock _lock = new();

    public DateTimeOffset? NextRunAt { get; private set; }
    public DateTimeOffset? LastRunAt { get; private set; }
    public int Runs { get; private set; }
    public int LastStudentsScored { get; private set; }
    public string LastOutcome { get; private set; } = "not run yet";

    public NightlyRescoreStatus Snapshot()
    {
        lock (_lock)
        {
            return (NightlyRescoreStatus)MemberwiseClone();
        }
    }

    internal void Scheduled(DateTimeOffset next)
    {
        lock (_lock)
        {
            NextRunAt = next;
        }
    }

    /// <summary>Records the run and the next one together, so a reader never sees this run with the old next time.</summary>
    internal void Finished(DateTimeOffset at, int scored, string outcome, DateTimeOffset next)
    {
        lock (_lock)
        {
            NextRunAt = next;
            LastRunAt = at;
            Runs++;
            LastStudentsScored = scored;
            LastOutcome = outcome;
        }
    }
}

/// <summary>
/// Re-scores every student with the active model once a day at NightlyAt local time, through the same
/// batch path as POST models/rescore (pooled engines). A restart does not catch up a missed night: the
/// next run is the next NightlyAt after start. Every replica runs it (scores are idempotent).
/// </summary>
public sealed class NightlyRescoreService(IServiceScopeFactory scopes, IOptions<NightlyRescoreOptions> options, NightlyRescoreStatus status,
    TimeProvider clock, ILogger<NightlyRescoreService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            return;
        }
        status.Scheduled(settings.NextAfter(clock.GetUtcNow(), clock.LocalTimeZone));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(settings.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            var now = clock.GetUtcNow();
            if (now < status.NextRunAt)
            {
                continue;
            }
            await RunAsync(now, settings.NextAfter(now, clock.LocalTimeZone), stoppingToken);
        }
    }

    private async Task RunAsync(DateTimeOffset now, DateTimeOffset next, CancellationToken ct)
    {
        try
        {
            // Every kind with an active model, each in its own scope (a fresh unit of work).
            var scored = 0;
            var kinds = new List<string>();
            foreach (var kind in ScoredKinds.All)
            {
                await using var scope = scopes.CreateAsyncScope();
                var scoring = scope.ServiceProvider.GetRequiredService<RiskScoring>();
                if (await scoring.ActiveAsync(kind, ct) is null)
                {
                    continue;
                }
                scored += await scoring.RescoreAllAsync(now, ct, kind);
                kinds.Add(kind);
            }
            if (kinds.Count == 0)
            {
                throw new ModelRegistryException("no active model");
            }
            status.Finished(now, scored, $"re-scored ({string.Join(", ", kinds)})", next);
            logger.LogInformation("Nightly re-score: {Students} student scores ({Kinds})", scored, string.Join(", ", kinds));
        }
        catch (ModelRegistryException e)
        {
            status.Finished(now, 0, $"skipped: {e.Message}", next);
            logger.LogInformation("Nightly re-score skipped: {Reason}", e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A failed night must not stop the host; the next night tries again.
            status.Finished(now, 0, $"failed: {e.Message}", next);
            logger.LogError(e, "Nightly re-score failed");
        }
    }
}
