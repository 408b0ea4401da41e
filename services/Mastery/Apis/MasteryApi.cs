using System.Security.Claims;
using Beacon.Contracts.Mastery;
using Beacon.Mastery.Grpc;
using Beacon.Mastery.Storage;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Mastery.Apis;

public sealed record SkillWeeks(string SkillId, string SkillName, IReadOnlyList<double?> Values);

public sealed record WeeklyMastery(string StudentId, IReadOnlyList<string> WeekStarts, IReadOnlyList<SkillWeeks> Skills);

/// <summary>
/// Every REST route of mastery: a student's mastery per skill, summary and next activity and a school's overview
/// (the answers of the gRPC Mastery service, which they call), and the weekly history:
/// GET /api/mastery/v1/students/{studentId}/mastery/weekly?weeks=12: each skill's probability of mastery
/// at the end of each week (Monday to Sunday, UTC), from the stored answer history, for trend charts.
/// A week without answers carries the last value forward; before the first answer it is null.
/// Staff only, and only for a student of a school the caller may see (else 404, no data).
/// </summary>
public static class MasteryApi
{
    public const int DefaultWeeks = 12;
    public const int MaxWeeks = 52;

    public static IEndpointRouteBuilder MapMasteryApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/mastery/v1").RequireAuthorization(Policies.Staff).WithTags("Mastery");
        api.MapGet("/students/{studentId}/mastery", (string studentId, HttpContext http) =>
                GrpcRest.AnswerAsync<MasteryGrpcService, StudentMastery>(http, (mastery, call) =>
                    mastery.GetStudentMastery(new GetStudentMasteryRequest { StudentId = studentId }, call)))
            .WithName("GetStudentMastery").WithSummary("Mastery per skill, trend, and change since a week ago").Produces<StudentMastery>();
        api.MapGet("/students/{studentId}/summary", (string studentId, HttpContext http) =>
                GrpcRest.AnswerAsync<MasteryGrpcService, StudentMasterySummary>(http, (mastery, call) =>
                    mastery.GetStudentSummary(new GetStudentSummaryRequest { StudentId = studentId }, call)))
            .WithName("GetStudentSummary").WithSummary("A few numbers per student (Early warning's model features)").Produces<StudentMasterySummary>();
        api.MapGet("/students/{studentId}/skills/{skillId}/next", (string studentId, string skillId, HttpContext http) =>
                GrpcRest.AnswerAsync<MasteryGrpcService, NextActivity>(http, (mastery, call) =>
                    mastery.RecommendNext(new RecommendNextRequest { StudentId = studentId, SkillId = skillId }, call)))
            .WithName("RecommendNext").WithSummary("What to practise next for a skill: the weakest unmastered prerequisite first").Produces<NextActivity>();
        api.MapGet("/schools/{schoolId}/overview", (string schoolId, HttpContext http) =>
                GrpcRest.AnswerAsync<MasteryGrpcService, SchoolOverview>(http, (mastery, call) =>
                    mastery.GetSchoolOverview(new GetSchoolOverviewRequest { SchoolId = schoolId }, call)))
            .WithName("GetSchoolOverview").WithSummary("Students struggling per skill, the top 3 skills by failure rate, items failed repeatedly")
            .Produces<SchoolOverview>();
        api.MapGet("/students/{studentId}/mastery/weekly", WeeklyAsync).WithName("WeeklyMastery").WithSummary("A student's mastery per skill, week by week");
        return app;
    }

    private static async Task<IResult> WeeklyAsync(string studentId, int? weeks, ClaimsPrincipal user, MasteryDbContext db, CancellationToken ct)
    {
        var count = weeks ?? DefaultWeeks;
        if (count is < 1 or > MaxWeeks)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["weeks"] = [$"must be between 1 and {MaxWeeks}."] });
        }
        var school = await db.Students.AsNoTracking().Where(s => s.StudentId == studentId).Select(s => s.SchoolId).FirstOrDefaultAsync(ct);
        if (!user.CanSeeSchool(school))
        {
            return UnknownStudent(studentId);
        }
        // One student's answers are a few hundred rows; SQLite cannot order by DateTimeOffset, so order here.
        var steps = (await db.Steps.AsNoTracking().Where(s => s.StudentId == studentId)
                .Select(s => new { s.Id, s.SkillId, s.AnsweredAt, s.ProbabilityAfter }).ToListAsync(ct))
            .OrderBy(s => s.AnsweredAt).ThenBy(s => s.Id).ToList();
        if (steps.Count == 0)
        {
            return school is null ? UnknownStudent(studentId) : Results.Ok(new WeeklyMastery(studentId, [], []));
        }

        var last = WeekStart(steps[^1].AnsweredAt);
        var first = WeekStart(steps[0].AnsweredAt);
        var start = last.AddDays(-7 * (count - 1));
        if (start < first)
        {
            start = first;
        }
        var starts = Enumerable.Range(0, (last.DayNumber - start.DayNumber) / 7 + 1).Select(i => start.AddDays(7 * i)).ToList();
        var names = await db.Skills.AsNoTracking().Where(s => steps.Select(x => x.SkillId).Contains(s.SkillId))
            .ToDictionaryAsync(s => s.SkillId, s => s.Name ?? "", ct);

        var skills = steps.GroupBy(s => s.SkillId).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
        {
            var values = starts.Select(week =>
            {
                var end = week.AddDays(7);
                var latest = g.LastOrDefault(s => WeekStart(s.AnsweredAt) < end);
                return latest is null ? (double?)null : Math.Round(latest.ProbabilityAfter, 4);
            }).ToList();
            return new SkillWeeks(g.Key, names.GetValueOrDefault(g.Key, ""), values);
        }).ToList();
        return Results.Ok(new WeeklyMastery(studentId, starts.Select(d => d.ToString("yyyy-MM-dd")).ToList(), skills));
    }

    private static IResult UnknownStudent(string studentId) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown student", detail: $"No student '{studentId}' that you may see.");

    private static DateOnly WeekStart(DateTimeOffset at)
    {
        var day = DateOnly.FromDateTime(at.UtcDateTime);
        return day.AddDays(-(((int)day.DayOfWeek + 6) % 7));
    }
}
