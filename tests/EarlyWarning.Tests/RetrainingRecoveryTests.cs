using Beacon.EarlyWarning.Monitoring;
using Beacon.EarlyWarning.Storage;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.EarlyWarning.Tests;

/// <summary>A retraining job lost with its process (a crash mid-run) no longer blocks retraining; a job that ran keeps its cooldown.</summary>
public sealed class RetrainingRecoveryTests : IAsyncLifetime
{
    private readonly ServiceFactory<Program> _service = new() { Settings = { ["EarlyWarning:Monitoring:Enabled"] = "false" } };

    public Task InitializeAsync() => _service.WaitUntilReadyAsync();

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private async Task<RetrainingJob?> StartAsync(string kind)
    {
        await using var scope = _service.Services.CreateAsyncScope();
        var policy = scope.ServiceProvider.GetRequiredService<RetrainingPolicy>();
        var db = scope.ServiceProvider.GetRequiredService<EarlyWarningDbContext>();
        var job = await policy.StartAsync(kind, "test", CancellationToken.None);
        // Saved but not run: this test is about the policy's bookkeeping, not training.
        await db.SaveChangesAsync();
        return job;
    }

    private Task<List<RetrainingJob>> JobsAsync(string kind) =>
        _service.WithDbAsync<EarlyWarningDbContext, List<RetrainingJob>>(db => db.RetrainingJobs.AsNoTracking().Where(j => j.Kind == kind).ToListAsync());

    [Fact]
    public async Task A_job_left_running_by_a_crash_is_failed_after_the_timeout_and_a_new_one_starts()
    {
        var kind = $"kind-{Guid.NewGuid():N}";
        var lostId = Guid.NewGuid();
        await _service.WithDbAsync<EarlyWarningDbContext, int>(db =>
        {
            db.RetrainingJobs.Add(new RetrainingJob { JobId = lostId, Kind = kind, Reason = "before the crash", Status = RetrainingStatuses.Running, StartedAt = DateTimeOffset.UtcNow.AddHours(-2) });
            return db.SaveChangesAsync();
        });

        var job = await StartAsync(kind);
        Assert.NotNull(job);
        var jobs = await JobsAsync(kind);
        var lost = jobs.Single(j => j.JobId == lostId);
        Assert.Equal(RetrainingStatuses.Failed, lost.Status);
        Assert.Contains("process that ran it stopped", lost.Error);
        Assert.Equal(RetrainingStatuses.Running, jobs.Single(j => j.JobId == job.JobId).Status);

        // The new one is running (not lost yet): no second job.
        Assert.Null(await StartAsync(kind));
    }

    [Fact]
    public async Task A_job_that_succeeded_recently_keeps_the_cooldown_and_a_failed_one_does_not()
    {
        var kind = $"kind-{Guid.NewGuid():N}";
        await _service.WithDbAsync<EarlyWarningDbContext, int>(db =>
        {
            db.RetrainingJobs.Add(new RetrainingJob { JobId = Guid.NewGuid(), Kind = kind, Reason = "ok", Status = RetrainingStatuses.Failed, StartedAt = DateTimeOffset.UtcNow.AddDays(-1) });
            return db.SaveChangesAsync();
        });
        var retried = await StartAsync(kind);
        Assert.NotNull(retried);
        await _service.WithDbAsync<EarlyWarningDbContext, int>(async db =>
        {
            var job = await db.RetrainingJobs.SingleAsync(j => j.JobId == retried.JobId);
            job.Status = RetrainingStatuses.Succeeded;
            return await db.SaveChangesAsync();
        });
        Assert.Null(await StartAsync(kind));
    }
}
