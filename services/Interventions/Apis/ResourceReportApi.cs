using System.Security.Claims;
using Beacon.Interventions.Domain;
using Beacon.Interventions.Storage;
using Beacon.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace Beacon.Interventions.Apis;

/// <summary>
/// Resources follow impact (#27 item 4): the district's ranking of intervention types by attendance effect per staff hour
/// (by risk band and school, with the evidence behind each figure), and, on a case, the types that worked best for students
/// in the same risk band, with the figure and its uncertainty. Aggregates only, never names.
/// </summary>
public static class ResourceReportApi
{
    private const string Measure = "attendance rate (share of recorded school days present or tardy)";

    public static IEndpointRouteBuilder MapResourceReportApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/interventions/v1/resource-report", ReportAsync)
            .RequireAuthorization(p => p.RequireRole(Roles.Coordinator, Roles.Ops, Roles.Administrator))
            .WithTags("Effect").WithName("ResourceReport")
            .WithSummary("Intervention types ranked by attendance effect per staff hour, by risk band and by school")
            .WithDescription("Staff time per case: the minutes logged on its notes and contacts, else the hours its plan expected. A row is ranked "
                + $"with at least {ResourceReport.MinimumCases} measured cases, an interval, and hours for at least half of them. windowWeeks is 1 or 2.");
        app.MapGet("/api/interventions/v1/cases/{caseId}/suggested-types", SuggestAsync)
            .RequireAuthorization(Policies.Staff)
            .WithTags("Cases").WithName("SuggestedInterventionTypes")
            .WithSummary("The intervention types that worked best for students in this student's risk band, with the evidence")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<IResult> ReportAsync(int? windowWeeks, string? schoolId, ClaimsPrincipal user, ResourceReport report,
        IOptions<InterventionsOptions> options, CancellationToken ct)
    {
        if (EffectReportApi.Refused(user, schoolId, windowWeeks, options.Value, out var weeks) is { } refused)
        {
            return refused;
        }
        var settings = new EffectSettings(WindowWeeks: weeks);
        var tables = await report.BuildAsync(settings, schoolId, ct);
        return Results.Ok(new
        {
            measure = Measure,
            windowWeeks = weeks,
            method = "per case: its attendance change minus its matched comparison students' (as in the effect report); per group: the mean of that "
                + "and its 95 % t-interval, divided by the mean staff hours per measured case (the minutes logged on the case's notes and contacts, "
                + "else the hours its plan expected); the hours are taken as known, so the interval reflects the effect's uncertainty only",
            minimumCases = ResourceReport.MinimumCases,
            byType = tables.ByType.Select(View),
            byTypeAndRiskBand = tables.ByTypeAndBand.Select(View),
            byTypeAndSchool = tables.ByTypeAndSchool.Select(View),
        });
    }

    private static async Task<IResult> SuggestAsync(string caseId, ClaimsPrincipal user, InterventionsDbContext db, ResourceReport report,
        ResourceReportCache cache, IOptions<InterventionsOptions> options, CancellationToken ct)
    {
        var (c, problem) = await CasesApi.VisibleCaseAsync(caseId, user, db, ct);
        if (c is null)
        {
            return problem!;
        }
        var band = await ResourceReport.WorstBandAsync(db, c.StudentId, ct);
        // The district's figures: one school rarely has enough completed cases of a type in one band to say anything. Every
        // case page asks, so they are built once per few minutes (ResourceReportCache) and the answer says as of when.
        var settings = new EffectSettings(WindowWeeks: options.Value.EffectWindowWeeks);
        var (tables, asOf) = await cache.GetAsync(settings, () => report.BuildAsync(settings, null, ct));
        var inBand = tables.ByTypeAndBand.Where(r => r.RiskBand == band && r.Ranked).ToList();
        var (rows, basis) = inBand.Count > 0
            ? (inBand, $"students who were in the {band} risk band when their plan was set")
            : (tables.ByType.Where(r => r.Ranked).ToList(), $"all students (fewer than {ResourceReport.MinimumCases} measured cases of any type in the {band} band)");
        return Results.Ok(new
        {
            caseId = c.CaseId,
            riskBand = band,
            basis,
            asOf,
            measure = Measure,
            suggestions = rows.OrderByDescending(r => r.Effect.Difference).Select(r => new
            {
                type = r.Type,
                cases = r.Effect.Cases,
                difference = Round(r.Effect.Difference),
                ci95 = Interval(r.Effect.CiLow, r.Effect.CiHigh),
                perStaffHour = Round(r.PerHour),
                sentence = Sentence(r),
            }),
            note = rows.Count == 0
                ? $"No intervention type has {ResourceReport.MinimumCases} or more measured cases yet: nothing to suggest from evidence."
                : "Figures from completed cases of the district, against matched students with no case; a suggestion, not a rule.",
        });
    }

    private static string Sentence(ResourceRow r)
    {
        var points = r.Effect.Difference * 100;
        var certain = r.Effect.CiLow > 0 ? "" : " (the interval includes no effect)";
        return $"{r.Type}: attendance {(points >= 0 ? "up" : "down")} {Math.Abs(points):0.0} points against similar students over {r.Effect.Cases} cases, "
            + $"95 % interval {r.Effect.CiLow * 100:0.0} to {r.Effect.CiHigh * 100:0.0}{certain}"
            + (r.MeanHours is { } h ? $"; about {h:0.#} staff hour(s) per case." : ".");
    }

    private static object View(ResourceRow r) => new
    {
        type = r.Type,
        riskBand = r.RiskBand,
        schoolId = r.SchoolId,
        ranked = r.Ranked,
        cases = r.Effect.Cases,
        excluded = r.Effect.Excluded,
        difference = Round(r.Effect.Difference),
        ci95 = Interval(r.Effect.CiLow, r.Effect.CiHigh),
        casesWithHours = r.CasesWithHours,
        casesWithLoggedTime = r.CasesWithLoggedTime,
        meanStaffHours = Round(r.MeanHours),
        perStaffHour = Round(r.PerHour),
        perStaffHourCi95 = Interval(r.PerHourLow, r.PerHourHigh),
    };

    private static double[]? Interval(double? low, double? high) => low is { } l && high is { } h ? [Math.Round(l, 4), Math.Round(h, 4)] : null;

    private static double? Round(double? v) => v is { } x && !double.IsNaN(x) ? Math.Round(x, 4) : null;
}
