using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Beacon.Messaging;

/// <summary>
/// A scheduled job's state in the service's database, shared by every replica: when it runs next, who holds its lease
/// now, and what its last run did. Times are Unix milliseconds, so the lease conditions are plain integer comparisons
/// that SQLite and PostgreSQL both evaluate in the UPDATE itself.
/// </summary>
public sealed class ScheduledJobState
{
    public required string Job { get; set; }

    /// <summary>The schedule it was planned with ("daily 02:00"); a changed schedule re-plans the next run.</summary>
    public string Schedule { get; set; } = "";
    public long NextRunAt { get; set; }

    /// <summary>The replica running it now; null when nobody is. Still set after its lease ran out: that run was lost.</summary>
    public string? Owner { get; set; }
    public long LeaseUntil { get; set; }
    public long? LastStartedAt { get; set; }
    public long? LastFinishedAt { get; set; }
    public string LastOutcome { get; set; } = "not run yet";
    public string? LastRunBy { get; set; }

    /// <summary>What the last run processed (students re-scored, rows purged), 0 when it does not count.</summary>
    public int LastCount { get; set; }
    public int Runs { get; set; }

    /// <summary>Runs taken over after the replica that held the lease stopped mid-run (crash, kill) and the lease ran out.</summary>
    public int Recovered { get; set; }
}

/// <summary>What a job's state looks like to ops.</summary>
public sealed record ScheduledJobView(string Job, string Schedule, DateTimeOffset NextRunAt, bool Running, string? RunningOn, DateTimeOffset? LeaseUntil,
    DateTimeOffset? LastStartedAt, DateTimeOffset? LastFinishedAt, string LastOutcome, string? LastRunBy, int LastCount, int Runs, int Recovered);

/// <summary>One run of a job, handed to its work: a fresh scope, the run's time, and whether it takes over a lost run.</summary>
public sealed record ScheduledRun(IServiceProvider Services, DateTimeOffset StartedAt, string? RecoveredFrom, CancellationToken CancellationToken);

/// <summary>What a run did: a line for ops and a count.</summary>
public sealed record ScheduledResult(string Outcome, int Count = 0);

public static class ScheduledJobsExtensions
{
    public static ModelBuilder AddScheduledJobs(this ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<ScheduledJobState>(e =>
        {
            e.ToTable("scheduled_jobs");
            e.HasKey(j => j.Job);
        });
        return modelBuilder;
    }

    public static IServiceCollection AddScheduledJobs<TContext>(this IServiceCollection services)
        where TContext : DbContext => services.AddSingleton<ScheduledJobs<TContext>>();

    internal static DateTimeOffset At(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
}

/// <summary>
/// Runs scheduled work once per schedule across replicas: each replica looks at the clock every poll interval, and the
/// one whose UPDATE takes the lease (next run due, lease free or run out) runs it, renewing the lease while it works.
/// A replica that dies mid-run leaves its lease to run out; the next replica to look takes the run over (counted in
/// <see cref="ScheduledJobState.Recovered"/>). A run that ends or fails plans the next one; a graceful shutdown
/// mid-run hands the run back at once. A replica that was down when a run was due runs it when it comes back.
/// </summary>
public sealed class ScheduledJobs<TContext>(IServiceScopeFactory scopes, TimeProvider clock, ILogger<ScheduledJobs<TContext>> logger)
    where TContext : DbContext
{
    /// <summary>This replica: host, process and a per-host-instance suffix (two hosts can share a process in tests).</summary>
    public string Instance { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";

    public async Task RunAsync(string job, string schedule, Func<DateTimeOffset, DateTimeOffset> nextAfter, TimeSpan pollInterval, TimeSpan lease,
        Func<ScheduledRun, Task<ScheduledResult>> work, CancellationToken stoppingToken)
    {
        var planned = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // Planned at once, so ops see the next run from the start; then a look at every poll.
                if (!planned)
                {
                    await PlanAsync(job, schedule, nextAfter, stoppingToken);
                    planned = true;
                }
                if (await TryClaimAsync(job, lease, stoppingToken) is { } claim)
                {
                    await RunClaimedAsync(job, claim, nextAfter, lease, work, stoppingToken);
                }
                await Task.Delay(pollInterval, clock, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The database busy or away: the next look tries again; the schedule is in the database, not lost.
                logger.LogWarning(e, "Scheduled job {Job}: could not look at its schedule; trying again", job);
                try
                {
                    await Task.Delay(pollInterval, clock, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    public async Task<IReadOnlyList<ScheduledJobView>> ListAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var rows = await db.Set<ScheduledJobState>().AsNoTracking().OrderBy(j => j.Job).ToListAsync(ct);
        return rows.Select(j => new ScheduledJobView(j.Job, j.Schedule, ScheduledJobsExtensions.At(j.NextRunAt), j.Owner is not null && j.LeaseUntil > now,
            j.Owner, j.Owner is null ? null : ScheduledJobsExtensions.At(j.LeaseUntil), Maybe(j.LastStartedAt), Maybe(j.LastFinishedAt), j.LastOutcome, j.LastRunBy,
            j.LastCount, j.Runs, j.Recovered)).ToList();
    }

    /// <summary>
    /// "Run now": the job becomes due at once, so the next look of a replica that runs it (within its poll interval)
    /// takes the lease and runs it. A run in progress is not interrupted and stands for the one asked for (its end plans
    /// the next run by the schedule). False when no replica has planned the job (unknown, or switched off here).
    /// </summary>
    public async Task<bool> RequestRunAsync(string job, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        return await db.Set<ScheduledJobState>().Where(j => j.Job == job)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.NextRunAt, now), ct) == 1;
    }

    private static DateTimeOffset? Maybe(long? ms) => ms is { } v ? ScheduledJobsExtensions.At(v) : null;

    /// <summary>Adds the job's row the first time (the first replica wins; the others find it), re-plans it when its schedule changed.</summary>
    private async Task PlanAsync(string job, string schedule, Func<DateTimeOffset, DateTimeOffset> nextAfter, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        var next = nextAfter(clock.GetUtcNow()).ToUnixTimeMilliseconds();
        var row = await db.Set<ScheduledJobState>().FirstOrDefaultAsync(j => j.Job == job, ct);
        if (row is null)
        {
            db.Add(new ScheduledJobState { Job = job, Schedule = schedule, NextRunAt = next });
        }
        else if (row.Schedule != schedule)
        {
            row.Schedule = schedule;
            row.NextRunAt = next;
        }
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            logger.LogDebug("Scheduled job {Job} was planned by another replica", job);
        }
    }

    private sealed record Claim(DateTimeOffset StartedAt, string? RecoveredFrom);

    private async Task<Claim?> TryClaimAsync(string job, TimeSpan lease, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        var now = clock.GetUtcNow();
        var ms = now.ToUnixTimeMilliseconds();
        var row = await db.Set<ScheduledJobState>().AsNoTracking().FirstOrDefaultAsync(j => j.Job == job, ct);
        if (row is null || row.NextRunAt > ms || row.LeaseUntil > ms)
        {
            return null;
        }
        // One statement decides: of the replicas that saw the run due, only the first UPDATE still finds the lease free.
        var until = ms + (long)lease.TotalMilliseconds;
        var taken = await db.Set<ScheduledJobState>()
            .Where(j => j.Job == job && j.NextRunAt <= ms && j.LeaseUntil <= ms)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.Owner, Instance).SetProperty(j => j.LeaseUntil, until)
                .SetProperty(j => j.LastStartedAt, ms).SetProperty(j => j.LastRunBy, Instance), ct);
        if (taken != 1)
        {
            return null;
        }
        if (row.Owner is not null)
        {
            logger.LogWarning("Scheduled job {Job}: {Owner} stopped mid-run (its lease ran out); {Instance} runs it", job, row.Owner, Instance);
        }
        return new Claim(now, row.Owner);
    }

    private async Task RunClaimedAsync(string job, Claim claim, Func<DateTimeOffset, DateTimeOffset> nextAfter, TimeSpan lease,
        Func<ScheduledRun, Task<ScheduledResult>> work, CancellationToken stoppingToken)
    {
        using var renewing = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var renewal = RenewAsync(job, lease, renewing.Token);
        ScheduledResult result;
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            result = await work(new ScheduledRun(scope.ServiceProvider, claim.StartedAt, claim.RecoveredFrom, stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down mid-run: hand the run back now rather than after the lease runs out.
            await renewing.CancelAsync();
            await renewal;
            await ReleaseAsync(job, CancellationToken.None);
            throw;
        }
        catch (Exception e)
        {
            // A failed run must not stop the host; it is recorded and the next scheduled run tries again.
            logger.LogError(e, "Scheduled job {Job} failed", job);
            result = new ScheduledResult($"failed: {e.Message}");
        }
        await renewing.CancelAsync();
        await renewal;
        var outcome = claim.RecoveredFrom is null ? result.Outcome : $"{result.Outcome} (took over the run {claim.RecoveredFrom} did not finish)";
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<TContext>();
            var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
            var next = nextAfter(claim.StartedAt).ToUnixTimeMilliseconds();
            var recovered = claim.RecoveredFrom is null ? 0 : 1;
            var done = await db.Set<ScheduledJobState>().Where(j => j.Job == job && j.Owner == Instance)
                .ExecuteUpdateAsync(s => s.SetProperty(j => j.Owner, (string?)null).SetProperty(j => j.LeaseUntil, 0L).SetProperty(j => j.NextRunAt, next)
                    .SetProperty(j => j.LastFinishedAt, now).SetProperty(j => j.LastOutcome, outcome).SetProperty(j => j.LastCount, result.Count)
                    .SetProperty(j => j.Runs, j => j.Runs + 1).SetProperty(j => j.Recovered, j => j.Recovered + recovered), CancellationToken.None);
            if (done != 1)
            {
                logger.LogWarning("Scheduled job {Job}: the lease was lost during the run (another replica took it over); outcome not recorded: {Outcome}", job, outcome);
            }
        }
    }

    private async Task RenewAsync(string job, TimeSpan lease, CancellationToken ct)
    {
        var every = TimeSpan.FromTicks(Math.Max(lease.Ticks / 3, TimeSpan.FromMilliseconds(50).Ticks));
        try
        {
            while (true)
            {
                await Task.Delay(every, ct);
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<TContext>();
                var until = clock.GetUtcNow().ToUnixTimeMilliseconds() + (long)lease.TotalMilliseconds;
                await db.Set<ScheduledJobState>().Where(j => j.Job == job && j.Owner == Instance)
                    .ExecuteUpdateAsync(s => s.SetProperty(j => j.LeaseUntil, until), ct);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Scheduled job {Job}: could not renew its lease", job);
        }
    }

    private async Task ReleaseAsync(string job, CancellationToken ct)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<TContext>();
            await db.Set<ScheduledJobState>().Where(j => j.Job == job && j.Owner == Instance)
                .ExecuteUpdateAsync(s => s.SetProperty(j => j.Owner, (string?)null).SetProperty(j => j.LeaseUntil, 0L)
                    .SetProperty(j => j.LastOutcome, "interrupted: the replica running it shut down; the next look runs it again"), ct);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Scheduled job {Job}: could not hand the run back at shutdown; its lease runs out instead", job);
        }
    }
}
