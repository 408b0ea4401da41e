using System.Globalization;
using Beacon.EarlyWarning.Storage;
using Beacon.Messaging;
using Microsoft.Extensions.Options;

namespace Beacon.EarlyWarning.Scoring;

public sealed class NightlyRescoreOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>Local time of day (the clock's local time zone), "HH:mm".</summary>
    public string NightlyAt { get; set; } = "02:00";

    /// <summary>How often the job looks at the clock; a nightly job needs no finer grain.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a replica holds the run without renewing (renewed every third of it): how soon a crashed run is taken over.</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(2);

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

/// <summary>
/// Re-scores every student with each active model once a day at NightlyAt local time, through the same batch path as
/// POST models/rescore (<see cref="BatchRescoring"/>). Once per night across replicas: the run is leased in the database
/// (<see cref="ScheduledJobs{TContext}"/>); a replica that dies mid-run is taken over when its lease runs out, and a night
/// missed while every replica was down runs when one comes back. Last run, outcome and next run are in the database.
/// </summary>
public sealed class NightlyRescoreService(ScheduledJobs<EarlyWarningDbContext> jobs, IOptions<NightlyRescoreOptions> options, TimeProvider clock,
    ILogger<NightlyRescoreService> logger) : BackgroundService
{
    public const string Job = "nightly-rescore";

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        return !settings.Enabled
            ? Task.CompletedTask
            : jobs.RunAsync(Job, $"daily {settings.NightlyAt}", now => settings.NextAfter(now, clock.LocalTimeZone), settings.PollInterval, settings.Lease,
                RunAsync, stoppingToken);
    }

    private async Task<ScheduledResult> RunAsync(ScheduledRun run)
    {
        // Every kind with an active model, each in its own scope (a fresh unit of work).
        var scored = 0;
        var kinds = new List<string>();
        foreach (var kind in ScoredKinds.All)
        {
            await using var scope = run.Services.CreateAsyncScope();
            if (await scope.ServiceProvider.GetRequiredService<RiskScoring>().ActiveAsync(kind, run.CancellationToken) is null)
            {
                continue;
            }
            scored += (await scope.ServiceProvider.GetRequiredService<BatchRescoring>().RescoreAllAsync(run.StartedAt, run.CancellationToken, kind)).Students;
            kinds.Add(kind);
        }
        if (kinds.Count == 0)
        {
            logger.LogInformation("Nightly re-score skipped: no active model");
            return new ScheduledResult("skipped: no active model");
        }
        logger.LogInformation("Nightly re-score: {Students} student scores ({Kinds})", scored, string.Join(", ", kinds));
        return new ScheduledResult($"re-scored ({string.Join(", ", kinds)})", scored);
    }
}
