using System.Security.Claims;
using Beacon.Interventions.Domain;
using Beacon.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace Beacon.Interventions.Apis;

public static class EffectReportApi
{
    /// <summary>
    /// GET /api/interventions/v1/effect-report?windowWeeks=1|2&amp;schoolId=&amp;outcome=attendance|risk: the effect of completed
    /// interventions on attendance, or of completed and closed cases on each kind of risk score, per type.
    /// </summary>
    public static IEndpointRouteBuilder MapEffectReportApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/interventions/v1/effect-report", async (int? windowWeeks, string? schoolId, string? outcome, ClaimsPrincipal user, EffectReport report,
            IOptions<InterventionsOptions> options, CancellationToken ct) =>
        {
            if (Refused(user, schoolId, windowWeeks, options.Value, out var weeks) is { } refused)
            {
                return refused;
            }
            var chosen = outcome ?? Outcomes[0];
            if (!Outcomes.Contains(chosen))
            {
                return Results.ValidationProblem(new Dictionary<string, string[]> { ["outcome"] = [$"must be one of: {string.Join(", ", Outcomes)}."] });
            }
            var (measure, method, rows) = await AnswerAsync(chosen, report, weeks, schoolId, ct);
            return Results.Ok(new { outcome = chosen, measure, windowWeeks = weeks, method, interventionTypes = rows });
        }).RequireAuthorization(p => p.RequireRole(Roles.Coordinator, Roles.Ops, Roles.Administrator))
            .WithTags("Effect").WithName("EffectReport")
            .WithSummary("Effect of completed interventions on attendance, or of ended cases on risk scores, per intervention type")
            .WithDescription("Aggregates only, never names: the outcome before and after, difference with a 95 % interval. windowWeeks is 1 or 2; outcome is attendance (the default) or risk (per risk kind).");
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

    private static readonly string[] Outcomes = ["attendance", "risk"];

    /// <summary>The chosen outcome's measure, method and rows per type (per risk kind and type for risk).</summary>
    private static async Task<(string Measure, string Method, List<Dictionary<string, object?>> Rows)> AnswerAsync(string outcome, EffectReport report,
        int weeks, string? schoolId, CancellationToken ct)
    {
        if (outcome == "risk")
        {
            var s = new RiskEffectSettings(WindowWeeks: weeks);
            return ("risk score (Early warning's calibrated probability), per risk kind; a negative difference is risk lowered",
                $"difference in differences over completed and closed cases: each case's change in its student's score of a kind (as of {weeks} week(s) after its start − as of its start; a day's newest score, at most {s.MaxAgeDays} days old) minus the mean change of up to {s.MaxComparisons} same-school students scored in that kind, with no case opened before the window ended, whose score at the start, and mean score in the {s.MatchingWeeks} weeks before the window before it, were within ±{s.Caliper:0.00} of the case's; 95 % t-interval over cases, its standard error counting comparison students shared by several cases",
                [.. (await report.BuildRiskAsync(s, schoolId, ct)).Select(r => View(r.Effect, r.Kind))]);
        }
        var settings = new EffectSettings(WindowWeeks: weeks);
        return ("attendance rate (share of recorded school days present or tardy)",
            $"difference in differences: each case's change ({weeks} week(s) after its start − {weeks} before) minus the mean change of up to {settings.MaxComparisons} same-school students not (yet) in an intervention with a similar attendance rate (±{settings.Caliper:0.00}) in the {settings.MatchingWeeks} weeks before; 95 % t-interval over cases, its standard error counting comparison students shared by several cases",
            [.. (await report.BuildAsync(settings, schoolId, ct)).Select(r => View(r, kind: null))]);
    }

    private static Dictionary<string, object?> View(EffectRow r, string? kind)
    {
        var view = new Dictionary<string, object?> { ["kind"] = kind, ["type"] = r.InterventionType };
        foreach (var (name, value) in Figures(r, unit: "cases"))
        {
            view[name] = value;
        }
        return view;
    }

    /// <summary>An effect's figures as every effect read answers them (this report, the mastery effect); <paramref name="unit"/> names what was counted.</summary>
    internal static Dictionary<string, object?> Figures(EffectRow r, string unit) => new()
    {
        [unit] = r.Cases,
        ["excluded"] = r.Excluded,
        ["meanChange"] = Round(r.MeanChange),
        ["comparisonChange"] = Round(r.ComparisonChange),
        ["difference"] = Round(r.Difference),
        ["ci95"] = r.CiLow is null ? null : new[] { Round(r.CiLow.Value), Round(r.CiHigh!.Value) },
    };

    private static double? Round(double v) => double.IsNaN(v) ? null : Math.Round(v, 4);
}
