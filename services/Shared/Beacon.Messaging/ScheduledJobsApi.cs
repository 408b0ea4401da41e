using Beacon.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Messaging;

/// <summary>The answer's shape, for the OpenAPI document.</summary>
public sealed record ScheduledJobsResponse(IReadOnlyList<ScheduledJobView> Jobs);

public static class ScheduledJobsApi
{
    /// <summary>
    /// Ops: a service's scheduled jobs as every replica shares them in its database, at <c>{basePath}/jobs</c>. One route
    /// for every service that runs <see cref="ScheduledJobs{TContext}"/>, so ops read the same shape everywhere.
    /// </summary>
    public static IEndpointRouteBuilder MapScheduledJobsApi<TContext>(this IEndpointRouteBuilder app, string basePath)
        where TContext : DbContext
    {
        app.MapGet($"{basePath}/jobs", async (ScheduledJobs<TContext> jobs, CancellationToken ct) =>
                Results.Ok(new ScheduledJobsResponse(await jobs.ListAsync(ct))))
            .RequireAuthorization(Policies.Ops).WithTags("Jobs").WithName("ScheduledJobs")
            .WithSummary("Each scheduled job: next run, whether a replica runs it now (and which), last run, outcome, count, runs, runs taken over after a crash")
            .Produces<ScheduledJobsResponse>();
        return app;
    }
}
