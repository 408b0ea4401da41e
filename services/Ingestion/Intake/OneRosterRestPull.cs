using System.Text.Json;
using Beacon.Ingestion.Apis;
using Beacon.Ingestion.Domain;
using Beacon.Ingestion.Storage;
using Beacon.Messaging;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.Ingestion.Intake;

/// <summary>
/// One pull of the OneRoster REST connector: everything changed since the high-water mark is fetched first, whole
/// (every page of every collection), and only then applied through <see cref="OneRosterImport"/>, the CSV bundle's
/// own import, so a provider failing half way (401, 5xx after retries, not JSON) applies nothing and leaves the mark
/// where it was. The mark moves to the newest dateLastModified pulled only after the import has committed; an import
/// that fails part way through (the database gone) keeps the old mark, so the next pull fetches the same records
/// again and the import, which upserts, completes it.
/// </summary>
public sealed class OneRosterRestPull(IngestionDbContext db, OneRosterImport import, OneRosterRestClient client, TimeProvider clock, ILogger<OneRosterRestPull> logger)
{
    public const string Job = "oneroster-rest-pull";
    /// <summary>How the connector's last run is stored, and so read back.</summary>
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <param name="o">The connector to pull: its mark and last run are kept under its name.</param>
    public async Task<ScheduledResult> RunAsync(OneRosterRestOptions o, CancellationToken ct)
    {
        var state = await db.RosterConnectors.FirstOrDefaultAsync(c => c.Connector == o.Connector, ct)
            ?? db.RosterConnectors.Add(new RosterConnectorState { Connector = o.Connector }).Entity;
        var since = state.HighWaterMark;
        state.LastStartedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(ct);

        OneRosterPulled pulled;
        try
        {
            pulled = await client.PullAsync(o, since, ct);
        }
        catch (OneRosterPullException e)
        {
            logger.LogWarning("OneRoster REST connector {Connector}: pull failed, nothing applied: {Reason}", o.Connector, e.Message);
            (state.LastOutcome, state.LastError, state.LastFinishedAt) = ("failed", e.Message, clock.GetUtcNow());
            await db.SaveChangesAsync(ct);
            return new ScheduledResult($"failed: {e.Message} Nothing was applied; the high-water mark stays at {Show(since)}.");
        }

        var errors = new RowErrors();
        BatchSummary summary;
        try
        {
            summary = await import.ApplyAsync(pulled.Tables, errors, o.Source, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "OneRoster REST connector {Connector}: the pulled records could not be applied", o.Connector);
            db.ChangeTracker.Clear();
            var failed = await db.RosterConnectors.FirstAsync(c => c.Connector == o.Connector, CancellationToken.None);
            (failed.LastOutcome, failed.LastError, failed.LastFinishedAt) = ("failed", $"applying the pulled records failed: {e.Message}", clock.GetUtcNow());
            await db.SaveChangesAsync(CancellationToken.None);
            return new ScheduledResult($"failed: applying the pulled records failed ({e.Message}); the high-water mark stays at {Show(since)}.");
        }

        var total = pulled.Fetched.Values.Sum();
        state.HighWaterMark = pulled.NewestModified is { } newest && (since is null || newest > since) ? newest : since;
        (state.LastOutcome, state.LastError, state.LastFinishedAt, state.LastSucceededAt) = ("succeeded", null, clock.GetUtcNow(), clock.GetUtcNow());
        state.LastFilter = pulled.Filter;
        state.LastFetched = JsonSerializer.Serialize(pulled.Fetched, Json);
        state.LastSummary = JsonSerializer.Serialize(summary with { Kind = "oneroster-rest" }, Json);
        state.LastRowErrors = JsonSerializer.Serialize(errors.ToProblemErrors().Take(200).ToDictionary(), Json);
        await db.SaveChangesAsync(ct);
        var counts = string.Join(", ", pulled.Fetched.Select(f => $"{f.Key} {f.Value}"));
        return new ScheduledResult($"pulled {total} records ({counts}) {(since is null ? "in full" : $"changed since {Show(since)}")}: "
            + $"{summary.Accepted} accepted, {summary.Corrected} corrected, {summary.Unchanged} unchanged, {summary.Rejected} rejected", total);
    }

    private static string Show(DateTimeOffset? mark) => mark is { } m ? m.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture) : "none (a full pull next)";
}

/// <summary>Runs each enabled connector's pull on its own schedule, once across replicas (<see cref="ScheduledJobs{TContext}"/>), as a job of its own.</summary>
public sealed class OneRosterRestSchedule(ScheduledJobs<IngestionDbContext> jobs, IOptions<OneRosterRestOptions> options, ILogger<OneRosterRestSchedule> logger)
    : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(options.Value.All().Where(c => c.Enabled).Select(c =>
        {
            var interval = c.Interval > TimeSpan.Zero ? c.Interval : TimeSpan.FromHours(1);
            logger.LogInformation("OneRoster REST connector {Connector}: pulling from {BaseUrl} every {Interval} (job {Job})", c.Connector, c.BaseUrl, interval, c.Job);
            return jobs.RunAsync(c.Job, $"every {interval}", at => at + interval, c.PollInterval, lease: TimeSpan.FromMinutes(5),
                run => run.Services.GetRequiredService<OneRosterRestPull>().RunAsync(c, run.CancellationToken), stoppingToken);
        }));
}

/// <summary>A connector as ops see it: settings (never the secret), the mark, the last run's counts and row errors.</summary>
public sealed record OneRosterConnectorView(string Connector, bool Enabled, string? BaseUrl, TimeSpan Interval, DateTimeOffset? HighWaterMark,
    DateTimeOffset? LastStartedAt, DateTimeOffset? LastFinishedAt, DateTimeOffset? LastSucceededAt, string LastOutcome, string? LastError, string? LastFilter,
    Dictionary<string, int> Fetched, BatchSummary? Summary, Dictionary<string, string[]> RowErrors, string Job);

public sealed record OneRosterConnectorsResponse(IReadOnlyList<OneRosterConnectorView> Connectors);

public static class OneRosterRestApi
{
    public static IEndpointRouteBuilder MapOneRosterRestApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/ingestion/v1/oneroster/connector", async (IngestionDbContext db, IOptions<OneRosterRestOptions> options, CancellationToken ct) =>
                Results.Ok(await ViewAsync(db, options.Value, ct)))
            .RequireAuthorization(Policies.Ops).WithTags("Operations").WithName("OneRosterConnector")
            .WithSummary("The default OneRoster REST connector: whether it is on, its high-water mark, the last run's outcome, records fetched, batch counts and row errors (pull now: POST jobs/oneroster-rest-pull/run)")
            .Produces<OneRosterConnectorView>();
        app.MapGet("/api/ingestion/v1/oneroster/connectors", async (IngestionDbContext db, IOptions<OneRosterRestOptions> options, CancellationToken ct) =>
            {
                var views = new List<OneRosterConnectorView>();
                foreach (var connector in options.Value.All())
                {
                    views.Add(await ViewAsync(db, connector, ct));
                }
                return Results.Ok(new OneRosterConnectorsResponse(views));
            })
            .RequireAuthorization(Policies.Ops).WithTags("Operations").WithName("OneRosterConnectors")
            .WithSummary("Every OneRoster REST connector configured (one per provider), each as GET oneroster/connector shows the default one; pull one now: POST jobs/{its job}/run")
            .Produces<OneRosterConnectorsResponse>();
        return app;
    }

    private static async Task<OneRosterConnectorView> ViewAsync(IngestionDbContext db, OneRosterRestOptions o, CancellationToken ct)
    {
        var state = await db.RosterConnectors.AsNoTracking().FirstOrDefaultAsync(c => c.Connector == o.Connector, ct)
            ?? new RosterConnectorState { Connector = o.Connector };
        return new OneRosterConnectorView(o.Connector, o.Enabled, o.BaseUrl, o.Interval, state.HighWaterMark, state.LastStartedAt, state.LastFinishedAt,
            state.LastSucceededAt, state.LastOutcome, state.LastError, state.LastFilter,
            JsonSerializer.Deserialize<Dictionary<string, int>>(state.LastFetched) ?? [],
            state.LastSummary is null ? null : JsonSerializer.Deserialize<BatchSummary>(state.LastSummary, OneRosterRestPull.Json),
            JsonSerializer.Deserialize<Dictionary<string, string[]>>(state.LastRowErrors) ?? [], o.Job);
    }
}
