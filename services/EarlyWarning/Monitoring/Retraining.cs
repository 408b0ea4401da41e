using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.Messaging;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.EarlyWarning.Monitoring;

public static class RetrainingStatuses
{
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
}

/// <summary>
/// The retraining policy: a significant score drift against the baseline, or a realised false-positive
/// rate above EarlyWarning:Monitoring:FprBound for FprWeeks weeks in a row, starts one training job
/// (not while one runs, nor within RetrainCooldownDays of the last that succeeded; a job lost with its process
/// is failed after RetrainTimeout and retried). The job registers a candidate, the
/// challenger; promotion stays with a person (POST models/{id}/promote).
/// </summary>
public sealed class RetrainingPolicy(EarlyWarningDbContext db, RetrainingRunner runner, IOptions<MonitoringOptions> options, TimeProvider clock,
    ILogger<RetrainingPolicy> logger)
{
    private readonly List<Guid> _pending = [];

    public static string Describe(MonitoringOptions o) =>
        $"A training job starts when the score drifts significantly (PSI > 0.25) from the live baseline or an input moves past its input alarm bound "
        + $"({string.Join(", ", o.InputAlarmPsi.OrderBy(b => b.Key, StringComparer.Ordinal).Select(b => $"{b.Key} PSI > {b.Value:0.0#}"))}){(o.RetrainOnDrift ? "" : " (off: RetrainOnDrift=false)")}, "
        + $"or when the realised false-positive rate is above {o.FprBound:P0} for {o.FprWeeks} labelled weeks in a row; at most one job per {o.RetrainCooldownDays} days. "
        + "The job registers a candidate (the challenger) with its held-out metrics; a person promotes it through the model registry.";

    /// <summary>Adds the job to the caller's unit of work; it runs once the caller has saved and called <see cref="RunPending"/>.</summary>
    public async Task<RetrainingJob?> StartAsync(string kind, string reason, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var cooldown = now.AddDays(-options.Value.RetrainCooldownDays);
        var recent = await db.RetrainingJobs.Where(j => j.Kind == kind).ToListAsync(ct);
        // Lost: still "running" long after it started, and not running in this process (whose clock may be a test's).
        foreach (var lost in recent.Where(j => j.Status == RetrainingStatuses.Running && j.StartedAt < now - options.Value.RetrainTimeout && !runner.IsRunning(j.JobId)))
        {
            lost.Status = RetrainingStatuses.Failed;
            lost.Error = $"No result {options.Value.RetrainTimeout.TotalMinutes:0} minutes after it started: the process that ran it stopped (crash or restart).";
            lost.FinishedAt = now;
            db.Publish(new RetrainingJobFinished(lost.JobId, lost.Kind, lost.Status, lost.Reason, null, null, lost.Error, now));
            logger.LogWarning("Retraining job {JobId} ({Kind}) was lost with its process; marked failed", lost.JobId, kind);
        }
        // Only a job that produced a challenger starts the cooldown: a failed or lost one is retried at the next trigger.
        if (recent.Any(j => j.Status == RetrainingStatuses.Running || (j.Status == RetrainingStatuses.Succeeded && j.StartedAt > cooldown))
            || db.ChangeTracker.Entries<RetrainingJob>().Any(e => e.State == EntityState.Added && e.Entity.Kind == kind))
        {
            logger.LogInformation("Retraining {Kind} not started ({Reason}): a job is running or ran within the cooldown", kind, reason);
            return null;
        }
        var job = db.RetrainingJobs.Add(new RetrainingJob
        {
            JobId = Guid.NewGuid(),
            Kind = kind,
            Reason = reason,
            Status = RetrainingStatuses.Running,
            StartedAt = now,
        }).Entity;
        _pending.Add(job.JobId);
        return job;
    }

    private static Guid StableId(params string[] parts) =>
        new(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(string.Join('\u001f', parts))));

    public void RunPending()
    {
        foreach (var id in _pending)
        {
            runner.Run(id);
        }
        _pending.Clear();
    }

    /// <summary>
    /// When the last FprWeeks labelled weeks of the active version all have a realised FPR above the bound: tells ops
    /// (<see cref="FalsePositiveRateExceeded"/>, whether or not a job can start) and starts a job.
    /// </summary>
    public async Task<RetrainingJob?> CheckFalsePositiveRateAsync(string kind, IReadOnlyList<WeeklyFigures> weeks, CancellationToken ct)
    {
        var o = options.Value;
        var active = await db.Models.AsNoTracking().FirstOrDefaultAsync(m => m.Kind == kind && m.Status == ModelStatus.Active, ct);
        var labelled = weeks.Where(w => w.ModelVersion == active?.Version && w.RealisedFalsePositiveRate is not null)
            .OrderByDescending(w => w.WeekStart).Take(o.FprWeeks).ToList();
        if (active is null || labelled.Count < o.FprWeeks || labelled.Any(w => w.RealisedFalsePositiveRate <= o.FprBound))
        {
            return null;
        }
        var job = await StartAsync(kind, $"realised false-positive rate above {o.FprBound:P0} for {o.FprWeeks} weeks: "
            + string.Join(", ", labelled.Select(w => $"{w.WeekStart:yyyy-MM-dd} {w.RealisedFalsePositiveRate:P1}")), ct);
        // One alarm per model version and latest breaching week: the daily check finding the same weeks again raises the same id,
        // which Notifications tells once. Raised whether or not a job could start (one running, or the cooldown).
        var weeksAsc = labelled.OrderBy(w => w.WeekStart).ToList();
        var alarmId = StableId("fpr", kind, active.ModelId.ToString(), weeksAsc[^1].WeekStart.ToString("O"));
        db.Publish(new FalsePositiveRateExceeded(alarmId, kind, active.ModelId, active.Version, o.FprBound,
            weeksAsc.Select(w => w.WeekStart).ToList(), weeksAsc.Select(w => w.RealisedFalsePositiveRate!.Value).ToList(), job is not null, clock.GetUtcNow()));
        await db.SaveChangesAsync(ct);
        RunPending();
        return job;
    }
}

/// <summary>Runs training jobs off the request, each in its own scope; the outcome is written to the job's row.</summary>
public sealed class RetrainingRunner(IServiceScopeFactory scopes, IOptions<MonitoringOptions> options, TimeProvider clock, ILogger<RetrainingRunner> logger)
{
    // The jobs this process runs now, by id; a job removes itself when it ends (under the lock, so never before it is added).
    private readonly Dictionary<Guid, Task> _running = [];

    public void Run(Guid jobId)
    {
        lock (_running)
        {
            _running[jobId] = Task.Run(async () =>
            {
                try
                {
                    await RunAsync(jobId);
                }
                finally
                {
                    lock (_running)
                    {
                        _running.Remove(jobId);
                    }
                }
            });
        }
    }

    /// <summary>Whether this process is running the job now (a job of another replica, or of a process that died, is not).</summary>
    public bool IsRunning(Guid jobId)
    {
        lock (_running)
        {
            return _running.ContainsKey(jobId);
        }
    }

    /// <summary>For tests and shutdown: waits for the jobs started so far.</summary>
    public Task WhenIdleAsync()
    {
        lock (_running)
        {
            return Task.WhenAll(_running.Values.ToArray());
        }
    }

    private async Task RunAsync(Guid jobId)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<EarlyWarningDbContext>();
        var job = await db.RetrainingJobs.FindAsync(jobId);
        if (job is null)
        {
            return;
        }
        int? version = null;
        try
        {
            // From the district's history once two school years have outcomes (the promotion gate then decides); until then
            // the synthetic cold start, with a new seed per job (the same seed would give the champion again).
            var seed = (int)(job.StartedAt.ToUnixTimeSeconds() % 1_000_000) + 1;
            var fromHistory = (await scope.ServiceProvider.GetRequiredService<HistoryTrainingSet>().YearsAsync(job.Kind, CancellationToken.None)).Count >= 2;
            var challenger = await scope.ServiceProvider.GetRequiredService<ModelTraining>().TrainAsync(
                new TrainRequest(job.Kind, fromHistory ? ModelTraining.District : ModelTraining.Synthetic, options.Value.RetrainStudents, seed), CancellationToken.None);
            job.ChallengerModelId = challenger.ModelId;
            job.Status = RetrainingStatuses.Succeeded;
            version = challenger.Version;
        }
        catch (Exception e)
        {
            logger.LogError(e, "Retraining job {JobId} failed", jobId);
            job.Status = RetrainingStatuses.Failed;
            job.Error = e.Message;
        }
        job.FinishedAt = clock.GetUtcNow();
        // Ops hear of it either way: a challenger waiting for promotion, or a job that failed.
        db.Publish(new RetrainingJobFinished(job.JobId, job.Kind, job.Status, job.Reason, job.ChallengerModelId, version, job.Error, job.FinishedAt.Value));
        await db.SaveChangesAsync();
    }
}
