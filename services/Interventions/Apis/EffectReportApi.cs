using System.Security.Claims;
using Beacon.Interventions.Domain;
using Beacon.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace Beacon.Interventions.Apis;

public static class EffectReportApi
{
    /// <summary>GET /api/interventions/v1/effect-report?windowWeeks=1|2&amp;schoolId=: the effect of completed interventions on attendance, per type.</summary>
    public static IEndpointRouteBuilder MapEffectReportApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/interventions/v1/effect-report", async (int? windowWeeks, string? schoolId, ClaimsPrincipal user, EffectReport report,
            IOptions<InterventionsOptions> options, CancellationToken ct) =>
        {
            if (Refused(user, schoolId, windowWeeks, options.Value, out var weeks) is { } refused)
            {
                return refused;
            }
            var settings = new EffectSettings(WindowWeeks: weeks);
            var rows = await report.BuildAsync(settings, schoolId, ct);
            return Results.Ok(new
            {
                measure = "attendance rate (share of recorded school days present or tardy)",
                windowWeeks = weeks,
                method = $"difference in differences: each case's change ({weeks} week(s) after its start − {weeks} before) minus the mean change of up to {settings.MaxComparisons} same-school students not (yet) in an intervention with a similar attendance rate (±{settings.Caliper:0.00}) in the {settings.MatchingWeeks} weeks before; 95 % t-interval over cases",
                interventionTypes = rows.Select(r => new
                {
                    type = r.InterventionType,
                    cases = r.Cases,
                    excluded = r.Excluded,
                    meanChange = Round(r.MeanChange),
                    comparisonChange = Round(r.ComparisonChange),
                    difference = Round(r.Difference),
                    ci95 = r.CiLow is null ? null : new[] { Round(r.CiLow.Value), Round(r.CiHigh!.Value) },
                }),
            });
        }).RequireAuthorization(p => p.RequireRole(Roles.Coordinator, Roles.Ops, Roles.Administrator))
            .WithTags("Effect").WithName("EffectReport")
            .WithSummary("Effect of completed interventions on attendance, per intervention type")
            .WithDescription("Aggregates only, never names: attendance before and after, difference with a 95 % interval. windowWeeks is 1 or 2.");
        return app;
    }

    /// <summary>
    /// What an effect read may not ask (this report and the resource report): one school's figures only for those who see it
    /// (aggregates only, no names, for coordinators and ops), a window of 1 or 2 weeks; null when the read may go ahead.
    /// </summary>
    internal static IResult? Refused(ClaimsPrincipal user, string? schoolId, int? windowWeeks, InterventionsOptions options, out int weeks)
    {
        weeks = windowWeeks ?? options.EffectWindowWeeks;
        if (schoolId is not null && !user.IsInRole(Roles.Ops) && !user.CanSeeSchool(schoolId))
        {
            return Results.NotFound();
        }
        return weeks is < 1 or > 2 ? Results.ValidationProblem(new Dictionary<string, string[]> { ["windowWeeks"] = ["must be 1 or 2."] }) : null;
    }

    private static double? Round(double v) => double.IsNaN(v) ? null : Math.Round(v, 4);
}
