using Beacon.Interventions.Storage;
using Beacon.Messaging;
using Beacon.ServiceDefaults;

namespace Beacon.Interventions.Apis;

/// <summary>Ops: Interventions' scheduled jobs (the overdue scan), as every replica shares them in the database.</summary>
public static class JobsApi
{
    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/interventions/v1/jobs", async (ScheduledJobs<InterventionsDbContext> jobs, CancellationToken ct) =>
                Results.Ok(new ScheduledJobsResponse(await jobs.ListAsync(ct))))
            .RequireAuthorization(Policies.Ops).WithTags("Jobs").WithName("ScheduledJobs")
            .WithSummary("Each scheduled job: next run, whether a replica runs it now (and which), last run, outcome, count, runs, runs taken over after a crash")
            .Produces<ScheduledJobsResponse>();
        return app;
    }

    /// <summary>The answer's shape, for the OpenAPI document.</summary>
    public sealed record ScheduledJobsResponse(IReadOnlyList<ScheduledJobView> Jobs);
}
