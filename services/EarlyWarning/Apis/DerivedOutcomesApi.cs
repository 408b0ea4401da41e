using Beacon.EarlyWarning.Monitoring;
using Beacon.EarlyWarning.Storage;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;

namespace Beacon.EarlyWarning.Apis;

/// <summary>
/// Outcomes derived from the data (ops): derive a finished school year's labels now (the year-end job does it on its own),
/// and the counts per year and kind. Beside the monitoring routes, in its own file, so the label store's routes stay together.
/// </summary>
public static class DerivedOutcomesApi
{
    public static IEndpointRouteBuilder MapDerivedOutcomesApi(this IEndpointRouteBuilder app)
    {
        var ops = app.MapGroup(MonitoringApi.Prefix).RequireAuthorization(Policies.Ops).WithTags("Monitoring");
        // Every finished year not derived yet, or the named one again (only labels not there yet are added).
        ops.MapPost("/outcomes/derive", async (DeriveOutcomesRequest? request, OutcomeDeriver deriver, CancellationToken ct) =>
        {
            try
            {
                return Results.Ok(new { years = await deriver.DeriveAsync(request?.SchoolYear, ct) });
            }
            catch (MonitoringValidationException e)
            {
                return Results.ValidationProblem(e.Errors);
            }
        });
        ops.MapGet("/outcomes/years", async (EarlyWarningDbContext db, CancellationToken ct) =>
        {
            var counts = await db.YearOutcomes.AsNoTracking().GroupBy(o => new { o.SchoolYear, o.Kind })
                .Select(g => new { g.Key.SchoolYear, g.Key.Kind, Students = g.Count(), AtRisk = g.Count(o => o.AtRisk) }).ToListAsync(ct);
            return Results.Ok(counts.OrderBy(c => c.SchoolYear).ThenBy(c => c.Kind));
        });
        return app;
    }
}
