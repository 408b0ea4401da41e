using System.Globalization;
using System.Security.Claims;
using Beacon.Interventions.Domain;
using Beacon.Interventions.Storage;
using Beacon.ServiceDefaults;
using Grpc.Core;
using Microsoft.EntityFrameworkCore;
using MasteryClient = Beacon.Contracts.Mastery.Mastery.MasteryClient;

namespace Beacon.Interventions.Apis;

public sealed record GroupActivityView(DateTimeOffset At, string Kind, string By, string Text);

public sealed record GroupInterventionView(Guid GroupId, string SectionId, string SchoolId, string Type, string SkillId, IReadOnlyList<string> StudentIds,
    string StartDate, int DurationWeeks, string EndDate, string? Note, string CreatedBy, DateTimeOffset CreatedAt, IReadOnlyList<GroupActivityView> Activity)
{
    public static GroupInterventionView From(GroupIntervention g) => new(g.GroupId, g.SectionId, g.SchoolId, g.Type, g.SkillId,
        [.. g.Students.Select(s => s.StudentId).Order(StringComparer.Ordinal)], g.StartDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), g.DurationWeeks,
        g.StartDate.AddDays(7 * g.DurationWeeks - 1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), g.Note, g.CreatedBy, g.CreatedAt,
        [.. g.Activity.OrderBy(a => a.At).ThenBy(a => a.Id).Select(a => new GroupActivityView(a.At, a.Kind, a.By, a.Text))]);
}

/// <summary>
/// Group interventions, a teacher's action on a failing skill of their section (policy <c>teaching</c>): create one,
/// list a section's, read one with its history. A teacher acts only on a section that names them, a coordinator on their
/// schools' sections; the students must be in the section, the skill known to Mastery (asked over gRPC). Every problem is
/// a 400 naming the field (<c>studentIds[2]</c>, <c>skillId</c>); an unknown or hidden section 404; Mastery not answering 503.
/// </summary>
public static class GroupInterventionsApi
{
    public static IEndpointRouteBuilder MapGroupInterventionsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/interventions/v1").RequireAuthorization(Policies.Teaching).WithTags("Group interventions");
        api.MapPost("/group-interventions", CreateAsync).WithName("CreateGroupIntervention")
            .WithSummary("One intervention for a group of a section's students on one skill (practice-set, re-teach-module, small-group; 1 or 2 weeks)")
            .Accepts<GroupInterventionRequest>("application/json").Produces<GroupInterventionView>(StatusCodes.Status201Created)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/group-interventions", ListAsync).WithName("ListGroupInterventions").WithSummary("Group interventions of the sections the caller may see, newest first")
            .Produces<List<GroupInterventionView>>();
        api.MapGet("/group-interventions/{groupId:guid}", GetAsync).WithName("GetGroupIntervention").WithSummary("One group intervention with its history")
            .Produces<GroupInterventionView>().ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<IResult> CreateAsync(HttpRequest request, InterventionsDbContext db, MasteryClient mastery, TimeProvider clock, CancellationToken ct)
    {
        var (body, problem) = await JsonBody.ReadAsync(request, new GroupInterventionValidator(), ct);
        if (body is null)
        {
            return problem!;
        }
        var user = request.HttpContext.User;
        var (createdBy, notYou) = ActingUser.Resolve(user, body.CreatedBy, "createdBy");
        if (createdBy is null)
        {
            return notYou!;
        }
        var section = await db.Sections.AsNoTracking().FirstOrDefaultAsync(s => s.SectionId == body.SectionId, ct);
        var people = await db.SectionPeople.AsNoTracking().Where(p => p.SectionId == body.SectionId).ToListAsync(ct);
        if (section is null || !user.CanSeeSection(section.SchoolId, people.Where(p => p.Role == "teacher").Select(p => p.PersonId)))
        {
            return UnknownSection(body.SectionId!);
        }
        var students = people.Where(p => p.Role == "student").Select(p => p.PersonId).ToHashSet(StringComparer.Ordinal);
        var errors = body.StudentIds!.Select((id, i) => (id, i)).Where(x => !students.Contains(x.id!))
            .ToDictionary(x => $"studentIds[{x.i}]", x => new[] { $"'{x.id}' is not a student of section '{section.SectionId}'." });
        if (await CheckSkillAsync(mastery, body.SkillId, errors, ct) is { } unavailable)
        {
            return unavailable;
        }
        if (errors.Count > 0)
        {
            return Results.ValidationProblem(errors, title: "Invalid request; nothing was created");
        }

        var now = clock.GetUtcNow();
        var group = new GroupIntervention
        {
            GroupId = Guid.NewGuid(),
            SectionId = section.SectionId,
            SchoolId = section.SchoolId,
            Type = body.Type!,
            SkillId = body.SkillId!,
            StartDate = DateOnly.ParseExact(body.StartDate!, "yyyy-MM-dd", CultureInfo.InvariantCulture),
            DurationWeeks = body.DurationWeeks!.Value,
            Note = string.IsNullOrWhiteSpace(body.Note) ? null : body.Note,
            CreatedBy = createdBy,
            CreatedAt = now,
        };
        group.Students.AddRange(body.StudentIds!.Select(id => new GroupMember { GroupId = group.GroupId, StudentId = id! }));
        group.Activity.Add(new GroupActivity
        {
            GroupId = group.GroupId,
            At = now,
            Kind = "created",
            By = createdBy,
            Text = $"{group.Type} on {group.SkillId} for {group.Students.Count} student(s) of {section.Title} ({section.SectionId}), from {body.StartDate} for {group.DurationWeeks} week(s).",
        });
        db.Groups.Add(group);
        await db.SaveChangesAsync(ct);
        return Results.Created($"/api/interventions/v1/group-interventions/{group.GroupId}", GroupInterventionView.From(group));
    }

    private static async Task<IResult> ListAsync(string? sectionId, ClaimsPrincipal user, InterventionsDbContext db, CancellationToken ct)
    {
        var query = db.Groups.AsNoTracking().Include(g => g.Students).Include(g => g.Activity).AsQueryable();
        if (!string.IsNullOrEmpty(sectionId))
        {
            query = query.Where(g => g.SectionId == sectionId);
        }
        var groups = await query.ToListAsync(ct);
        var visible = await VisibleAsync(groups, user, db, ct);
        return Results.Ok(visible.OrderByDescending(g => g.CreatedAt).Select(GroupInterventionView.From).ToList());
    }

    private static async Task<IResult> GetAsync(Guid groupId, ClaimsPrincipal user, InterventionsDbContext db, CancellationToken ct)
    {
        var group = await db.Groups.AsNoTracking().Include(g => g.Students).Include(g => g.Activity).FirstOrDefaultAsync(g => g.GroupId == groupId, ct);
        return group is not null && (await VisibleAsync([group], user, db, ct)).Count == 1
            ? Results.Ok(GroupInterventionView.From(group))
            : Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown group intervention", detail: $"No group intervention '{groupId}' that you may see.");
    }

    /// <summary>The groups whose section the caller may see; a group whose section has ended stays visible to its creator and the school's coordinators.</summary>
    internal static async Task<List<GroupIntervention>> VisibleAsync(List<GroupIntervention> groups, ClaimsPrincipal user, InterventionsDbContext db, CancellationToken ct)
    {
        var sectionIds = groups.Select(g => g.SectionId).Distinct().ToList();
        var teachers = (await db.SectionPeople.AsNoTracking().Where(p => sectionIds.Contains(p.SectionId) && p.Role == "teacher").ToListAsync(ct))
            .ToLookup(p => p.SectionId, p => p.PersonId);
        return groups.Where(g => user.CanSeeSection(g.SchoolId, teachers[g.SectionId].Append(g.CreatedBy))).ToList();
    }

    private static IResult UnknownSection(string sectionId) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown section", detail: $"No section '{sectionId}' that you may see.");

    /// <summary>
    /// Adds an error on skillId when Mastery does not know the skill; answers 503 (nothing created) when Mastery cannot be
    /// asked. Group interventions and tests of change on mastery both check their skill this way.
    /// </summary>
    internal static async Task<IResult?> CheckSkillAsync(MasteryClient mastery, string? skillId, Dictionary<string, string[]> errors, CancellationToken ct)
    {
        try
        {
            var skills = await mastery.ListSkillsAsync(new Contracts.Mastery.ListSkillsRequest(), cancellationToken: ct);
            if (!skills.Skills.Any(s => s.SkillId == skillId))
            {
                errors["skillId"] = [$"'{skillId}' is not a skill Mastery knows (GET /api/mastery/v1/skills lists them)."];
            }
            return null;
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal)
        {
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Mastery did not answer; nothing was created",
                detail: "The skill could not be checked. Try again in a moment.");
        }
    }
}
