using System.Globalization;
using System.Security.Claims;
using Beacon.Mastery.Domain;
using Beacon.Mastery.Storage;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.Mastery.Apis;

public sealed record SectionSummary(string SectionId, string SchoolId, string Title, int Students, IReadOnlyList<string> TeacherIds);

/// <summary>
/// A teacher's sections (from Ingestion's SectionRosterRecorded) and each section's week (<see cref="SectionWeek"/>):
/// GET /api/mastery/v1/sections and GET /api/mastery/v1/sections/{sectionId}/week?weekOf=yyyy-MM-dd (default: this week).
/// Policy <c>teaching</c>; a teacher sees only the sections that name them, a coordinator their schools' sections
/// (<see cref="AuthExtensions.CanSeeSection"/>); any other section looks unknown (404).
/// </summary>
public static class SectionsApi
{
    public static IEndpointRouteBuilder MapSectionsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/mastery/v1").RequireAuthorization(Policies.Teaching).WithTags("Sections");
        api.MapGet("/sections", ListAsync).WithName("ListSections").WithSummary("The sections the caller teaches (teachers) or whose school they see (coordinators)")
            .Produces<List<SectionSummary>>();
        api.MapGet("/sections/{sectionId}/week", WeekAsync).WithName("SectionWeek")
            .WithSummary("A section's week: top failing skills and the change since last week, struggling students with evidence, items failed repeatedly, weakest prerequisites")
            .Produces<SectionWeekReport>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<IResult> ListAsync(ClaimsPrincipal user, MasteryDbContext db, CancellationToken ct)
    {
        var sections = await db.Sections.AsNoTracking().ToListAsync(ct);
        var members = (await db.SectionMembers.AsNoTracking().ToListAsync(ct)).ToLookup(m => m.SectionId);
        return Results.Ok(sections
            .Select(s => (Section: s, Teachers: members[s.SectionId].Where(m => m.Role == "teacher").Select(m => m.PersonId).Order(StringComparer.Ordinal).ToList()))
            .Where(s => user.CanSeeSection(s.Section.SchoolId, s.Teachers))
            .OrderBy(s => s.Section.SchoolId, StringComparer.Ordinal).ThenBy(s => s.Section.Title, StringComparer.Ordinal)
            .Select(s => new SectionSummary(s.Section.SectionId, s.Section.SchoolId, s.Section.Title,
                members[s.Section.SectionId].Count(m => m.Role == "student"), s.Teachers))
            .ToList());
    }

    private static async Task<IResult> WeekAsync(string sectionId, string? weekOf, ClaimsPrincipal user, MasteryDbContext db,
        IOptions<MasteryOptions> options, TimeProvider clock, CancellationToken ct)
    {
        var day = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        if (weekOf is not null && !DateOnly.TryParseExact(weekOf, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out day))
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["weekOf"] = [$"'{weekOf}' is not a date (yyyy-MM-dd)."] });
        }
        var section = await db.Sections.AsNoTracking().FirstOrDefaultAsync(s => s.SectionId == sectionId, ct);
        var members = await db.SectionMembers.AsNoTracking().Where(m => m.SectionId == sectionId).ToListAsync(ct);
        if (section is null || !user.CanSeeSection(section.SchoolId, members.Where(m => m.Role == "teacher").Select(m => m.PersonId)))
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown section", detail: $"No section '{sectionId}' that you may see.");
        }

        var ids = members.Where(m => m.Role == "student").Select(m => m.PersonId).ToList();
        var names = await db.Students.AsNoTracking().Where(s => ids.Contains(s.StudentId)).ToDictionaryAsync(s => s.StudentId, s => (s.GivenName, s.FamilyName), ct);
        var students = ids.ToDictionary(id => id, id => names.GetValueOrDefault(id, ("", "")));
        var weekStart = SectionWeek.WeekStart(day);
        var from = new DateTimeOffset(weekStart.AddDays(-7).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var to = from.AddDays(14);
        // SQLite cannot compare DateTimeOffset in SQL: a section's answers are read and the two weeks kept here.
        var answers = (await db.AppliedResponses.AsNoTracking().Where(r => ids.Contains(r.StudentId) && !r.Voided).ToListAsync(ct))
            .Where(r => r.AnsweredAt >= from && r.AnsweredAt < to)
            .Select(r => new WeekAnswer(r.StudentId, r.ItemId, r.AttemptNumber, r.Correct, r.HintsUsed, r.AnsweredAt,
                r.SkillIds.Split(',', StringSplitOptions.RemoveEmptyEntries)))
            .ToList();
        var mastery = await db.Mastery.AsNoTracking().Where(m => ids.Contains(m.StudentId))
            .ToDictionaryAsync(m => (m.StudentId, m.SkillId), m => new StudentSkillState(m.ProbabilityMastered, m.Attempts, m.Struggling), ct);
        var skills = await db.Skills.AsNoTracking().Include(s => s.Prerequisites).ToListAsync(ct);
        var graph = new SkillGraph(skills.ToDictionary(s => s.SkillId, s => (IReadOnlyList<string>)s.Prerequisites.Select(p => p.PrerequisiteId).ToList()));
        var inputs = new SectionWeekInputs(students, mastery, skills.ToDictionary(s => s.SkillId, s => s.Name ?? ""),
            skills.ToDictionary(s => s.SkillId, s => s.PriorKnowledge), graph, options.Value.MasteredAt);
        return Results.Ok(SectionWeek.Build(section.SectionId, section.SchoolId, section.Title, weekStart, answers, inputs));
    }
}
