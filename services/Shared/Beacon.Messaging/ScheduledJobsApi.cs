using Beacon.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Messaging;

/// <summary>The answer's shape, for the OpenAPI document.</summary>
public sealed record ScheduledJobsResponse(IReadOnlyList<ScheduledJobView> Jobs);

/// <summary>The answer to "run now".</summary>
public sealed record ScheduledJobRunRequested(string Job, string Status);

public static class ScheduledJobsApi
{
    /// <summary>
    /// Ops: a service's scheduled jobs as every replica shares them in its database, at <c>{basePath}/jobs</c>. One route
    /// for every service that runs <see cref="ScheduledJobs{TContext}"/>, so ops read the same shape everywhere.
    /// </summary>
    /// <param name="runNow">
    /// Also map <c>POST {basePath}/jobs/{job}/run</c> ("run now", for ops): opt-in per service, for jobs an operator
    /// may want sooner than their schedule (a roster pull); a nightly job that must not run twice a night keeps it off.
    /// </param>
    public static IEndpointRouteBuilder MapScheduledJobsApi<TContext>(this IEndpointRouteBuilder app, string basePath, bool runNow = false)
        where TContext : DbContext
    {
        app.MapGet($"{basePath}/jobs", async (ScheduledJobs<TContext> jobs, CancellationToken ct) =>
                Results.Ok(new ScheduledJobsResponse(await jobs.ListAsync(ct))))
            .RequireAuthorization(Policies.Ops).WithTags("Jobs").WithName("ScheduledJobs")
            .WithSummary("Each scheduled job: next run, whether a replica runs it now (and which), last run, outcome, count, runs, runs taken over after a crash")
            .Produces<ScheduledJobsResponse>();
        if (runNow)
        {
            app.MapPost($"{basePath}/jobs/{{job}}/run", async (string job, ScheduledJobs<TContext> jobs, CancellationToken ct) =>
                    await jobs.RequestRunAsync(job, ct)
                        ? Results.Accepted($"{basePath}/jobs", new ScheduledJobRunRequested(job, "due now: a replica runs it at its next look; GET jobs shows the outcome"))
                        : Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such job",
                            detail: $"'{job}' is not a scheduled job here (or it is switched off, so no replica planned it)."))
                .RequireAuthorization(Policies.Ops).WithTags("Jobs").WithName("RunScheduledJobNow")
                .WithSummary("Run a job now rather than at its next scheduled time (a run in progress stands for it)")
                .Produces<ScheduledJobRunRequested>(StatusCodes.Status202Accepted).ProducesProblem(StatusCodes.Status404NotFound);
        }
        return app;
    }
}
