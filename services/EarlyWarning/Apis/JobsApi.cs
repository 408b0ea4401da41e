using Beacon.EarlyWarning.Storage;
using Beacon.Messaging;
using Beacon.ServiceDefaults;

namespace Beacon.EarlyWarning.Apis;

/// <summary>Ops: Early warning's scheduled jobs (nightly re-score, daily monitoring), as every replica shares them in the database.</summary>
public static class JobsApi
{
    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/early-warning/v1/jobs", async (ScheduledJobs<EarlyWarningDbContext> jobs, CancellationToken ct) =>
                Results.Ok(new ScheduledJobsResponse(await jobs.ListAsync(ct))))
            .RequireAuthorization(Policies.Ops).WithTags("Jobs").WithName("ScheduledJobs")
            .WithSummary("Each scheduled job: next run, whether a replica runs it now (and which), last run, outcome, count, runs, runs taken over after a crash")
            .Produces<ScheduledJobsResponse>();
        return app;
    }

    /// <summary>The answer's shape, for the OpenAPI document.</summary>
    public sealed record ScheduledJobsResponse(IReadOnlyList<ScheduledJobView> Jobs);
}
