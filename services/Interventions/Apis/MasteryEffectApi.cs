using System.Security.Claims;
using Beacon.Interventions.Domain;
using Beacon.Interventions.Storage;
using Beacon.ServiceDefaults;
using Grpc.Core;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.Interventions.Apis;

/// <summary>
/// GET /api/interventions/v1/mastery-effect?windowWeeks=1|2&amp;sectionId=&amp;schoolId=: the mastery effect of group
/// interventions (<see cref="MasteryEffectEstimator"/>) per group, per type, per type and subgroup, and the growth gap of each
/// subgroup against the rest of its type. Aggregates only,
/// never a student's name or id. Teachers see their sections' groups, coordinators their schools', ops and administrators all.
/// </summary>
public static class MasteryEffectApi
{
    public static IEndpointRouteBuilder MapMasteryEffectApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/interventions/v1/mastery-effect", async (int? windowWeeks, string? sectionId, string? schoolId, ClaimsPrincipal user,
            InterventionsDbContext db, MasteryEffectReport report, IOptions<InterventionsOptions> options, CancellationToken ct) =>
        {
            var weeks = windowWeeks ?? options.Value.EffectWindowWeeks;
            if (weeks is < 1 or > 2)
            {
                return Results.ValidationProblem(new Dictionary<string, string[]> { ["windowWeeks"] = ["must be 1 or 2."] });
            }
            var query = db.Groups.AsNoTracking().Include(g => g.Students).AsQueryable();
            if (!string.IsNullOrEmpty(sectionId))
            {
                query = query.Where(g => g.SectionId == sectionId);
            }
            if (!string.IsNullOrEmpty(schoolId))
            {
                query = query.Where(g => g.SchoolId == schoolId);
            }
            var groups = await query.ToListAsync(ct);
            if (!user.IsInRole(Roles.Ops))
            {
                groups = await GroupInterventionsApi.VisibleAsync(groups, user, db, ct);
            }
            MasteryEffectReport.Report built;
            try
            {
                built = await report.BuildAsync(groups, weeks, ct);
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal)
            {
                return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Mastery did not answer",
                    detail: "The mastery history behind the effect could not be read. Try again in a moment.");
            }
            var s = built.Settings;
            var byId = built.Measured.ToDictionary(g => g.GroupId);
            return Results.Ok(new
            {
                measure = "probability of mastery of the group's skill (Bayesian Knowledge Tracing, Mastery)",
                windowWeeks = weeks,
                method = $"difference in differences: each student's change in mastery from the group's start to {weeks} week(s) after, minus the mean change of up to {s.MaxComparisons} students of the same school in no group on that skill, with mastery within ±{s.Caliper:0.00} at the start and alike practice (answers to the skill in the {s.MatchingWeeks} weeks before, within a factor of two ± 1); 95 % t-interval over students. Subgroups with fewer than {s.MinimumGroupSize} measured students are suppressed. Gaps: per type and subgroup, its students' mean difference − the type's other students' (unlabelled ones included), 95 % Welch interval; suppressed when either side has fewer than {s.MinimumGroupSize}.",
                groups = built.Result.Groups.Select(r => new
                {
                    groupId = r.GroupId,
                    sectionId = byId[r.GroupId].SectionId,
                    type = r.Type,
                    skillId = r.SkillId,
                    startDate = byId[r.GroupId].StartDate.ToString("yyyy-MM-dd"),
                    effect = Figures(r.Effect),
                }),
                interventionTypes = built.Result.Types.Select(r => new { type = r.InterventionType, effect = Figures(r) }),
                subgroups = built.Result.Subgroups.Select(r => new
                {
                    type = r.Type,
                    subgroup = r.Subgroup,
                    suppressed = r.Effect is null,
                    effect = r.Effect is null ? null : Figures(r.Effect),
                }),
                gaps = built.Result.Gaps.Select(r => new
                {
                    type = r.Type,
                    attribute = r.Attribute,
                    subgroup = r.Subgroup,
                    students = r.Students,
                    others = r.Others,
                    suppressed = r.Gap is null,
                    gap = r.Gap is { } g ? Math.Round(g, 4) : (double?)null,
                    ci95 = r.CiLow is { } low && r.CiHigh is { } high ? new[] { Math.Round(low, 4), Math.Round(high, 4) } : null,
                }),
                pending = built.Pending.Select(g => new { groupId = g.GroupId, type = g.Type, skillId = g.SkillId, measurableFrom = g.StartDate.AddDays(7 * weeks).ToString("yyyy-MM-dd") }),
            });
        }).RequireAuthorization(p => p.RequireRole(Roles.Teacher, Roles.Coordinator, Roles.Ops, Roles.Administrator))
            .WithTags("Effect").WithName("MasteryEffect")
            .WithSummary("Effect of group interventions on mastery: per group, per type, per type and subgroup, and subgroup gaps")
            .WithDescription("Aggregates only, never names: mastery change against comparable students, difference with a 95 % interval. windowWeeks is 1 or 2.");
        return app;
    }

    private static Dictionary<string, object?> Figures(EffectRow r) => EffectReportApi.Figures(r, unit: "students");
}
