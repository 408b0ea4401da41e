using System.Security.Claims;
using Beacon.Contracts.Events;
using Beacon.Contracts.Ingestion;
using Beacon.Interventions.Domain;
using Beacon.Interventions.Storage;
using Beacon.ServiceDefaults;
using Grpc.Core;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Interventions.Api;

/// <summary>
/// Write side of Interventions: open, assign (one or many), plan, start, note, complete, close.
/// Rule breaks are 409 problem details naming the field (e.g. "status"), bad values 400; never a 500.
/// </summary>
public static class CaseEndpoints
{
    public static IEndpointRouteBuilder MapCaseEndpoints(this IEndpointRouteBuilder app)
    {
        // Staff work on cases of their own schools; assigning is a coordinator's job.
        var api = app.MapGroup("/api/interventions/v1").RequireAuthorization(Policies.Staff);
        api.MapPost("/cases", OpenAsync);
        api.MapPost("/cases/{caseId}/assignment", AssignAsync).RequireAuthorization(Policies.Coordinators);
        api.MapPost("/assignments", BulkAssignAsync).RequireAuthorization(Policies.Coordinators);
        api.MapGet("/cases/{caseId}/suggested-owner", SuggestOwnerAsync).RequireAuthorization(Policies.Coordinators);
        api.MapPut("/cases/{caseId}/plan", PlanAsync);
        api.MapPost("/cases/{caseId}/start", StartAsync);
        api.MapPost("/cases/{caseId}/notes", NoteAsync);
        api.MapPost("/cases/{caseId}/completion", CompleteAsync);
        api.MapPost("/cases/{caseId}/closure", CloseAsync);
        api.MapGet("/cases/{caseId}/activity", ActivityAsync);
        api.MapGet("/caseloads", CaseloadsAsync).RequireAuthorization(Policies.Coordinators);
        return app;
    }

    private static async Task<IResult> OpenAsync(HttpRequest request, InterventionsDbContext db, CaseOpener opener, CancellationToken ct)
    {
        var (body, problem) = await JsonBody.ReadAsync(request, new OpenCaseValidator(), ct);
        if (body is null)
        {
            return problem!;
        }
        if (!request.HttpContext.User.CanSeeSchool(body.SchoolId))
        {
            return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Not your school",
                detail: $"Cases can be opened only for students of the caller's own schools; '{body.SchoolId}' is not one of them.");
        }
        var active = await db.Cases.AsNoTracking().FirstOrDefaultAsync(c => c.StudentId == body.StudentId && CaseStatuses.Active.Contains(c.Status), ct);
        if (active is not null)
        {
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "The student already has an active case",
                detail: $"Case {active.CaseId} is {active.Status}; add a note to it instead of opening another.",
                extensions: new Dictionary<string, object?> { ["caseId"] = active.CaseId });
        }
        var opened = opener.Open(body.StudentId!, body.SchoolId!, body.Reason!, body.OpenedBy!, alertId: null);
        await db.SaveChangesAsync(ct);
        return Results.Created($"/api/interventions/v1/cases/{opened.CaseId}", CaseView.From(opened));
    }

    private static Task<IResult> AssignAsync(string caseId, HttpRequest request, InterventionsDbContext db, TimeProvider clock, CancellationToken ct) =>
        WithCaseAsync(caseId, request, new AssignValidator(), db, ct, (c, body) =>
        {
            Assign(db, c, body.OwnerId!, body.HelperIds ?? [], body.AssignedBy!, clock.GetUtcNow());
            return Task.CompletedTask;
        });

    private static async Task<IResult> BulkAssignAsync(HttpRequest request, InterventionsDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var (body, problem) = await JsonBody.ReadAsync(request, new BulkAssignValidator(), ct);
        if (body is null)
        {
            return problem!;
        }
        var errors = new Dictionary<string, string[]>();
        var ids = new List<Guid>();
        for (var i = 0; i < body.CaseIds!.Count; i++)
        {
            if (Guid.TryParse(body.CaseIds[i], out var id))
            {
                ids.Add(id);
            }
            else
            {
                errors[$"caseIds[{i}]"] = [$"'{body.CaseIds[i]}' is not a case id."];
            }
        }
        // Cases of other schools are reported exactly like cases that do not exist.
        var cases = await db.Cases.Include(c => c.Alerts).WhereSchoolVisibleTo(request.HttpContext.User, c => c.SchoolId)
            .Where(c => ids.Contains(c.CaseId)).ToDictionaryAsync(c => c.CaseId, ct);
        var now = clock.GetUtcNow();
        var assigned = new List<Guid>();
        for (var i = 0; i < body.CaseIds.Count; i++)
        {
            if (!Guid.TryParse(body.CaseIds[i], out var id))
            {
                continue;
            }
            if (!cases.TryGetValue(id, out var c))
            {
                errors[$"caseIds[{i}]"] = [$"case '{id}' does not exist."];
                continue;
            }
            try
            {
                Assign(db, c, body.OwnerId!, body.HelperIds ?? [], body.AssignedBy!, now);
                assigned.Add(id);
            }
            catch (CaseRuleException ex)
            {
                errors[$"caseIds[{i}]"] = [ex.Message];
            }
        }
        // Like Ingestion's batches: the valid part is kept, every rejected case is named.
        await db.SaveChangesAsync(ct);
        return errors.Count == 0
            ? Results.Ok(new { assigned })
            : Results.ValidationProblem(errors, title: $"{errors.Count} case(s) not assigned; {assigned.Count} assigned",
                extensions: new Dictionary<string, object?> { ["assigned"] = assigned });
    }

    private static void Assign(InterventionsDbContext db, InterventionCase c, string ownerId, List<string> helpers, string by, DateTimeOffset now)
    {
        CaseWorkflow.Assign(c, ownerId, helpers, by, now);
        db.Publish(new InterventionAssigned(c.CaseId, c.StudentId, c.SchoolId, ownerId, c.HelperIds, by, now));
    }

    private static async Task<IResult> SuggestOwnerAsync(string caseId, ClaimsPrincipal user, InterventionsDbContext db, Roster.RosterClient roster, CancellationToken ct)
    {
        if (!Guid.TryParse(caseId, out var id))
        {
            return BadCaseId(caseId);
        }
        var c = await db.Cases.AsNoTracking().WhereSchoolVisibleTo(user, x => x.SchoolId).FirstOrDefaultAsync(x => x.CaseId == id, ct);
        if (c is null)
        {
            return CaseNotFound(caseId);
        }
        ListSchoolCounselorsResponse counselors;
        try
        {
            counselors = await roster.ListSchoolCounselorsAsync(new ListSchoolCounselorsRequest { SchoolId = c.SchoolId }, cancellationToken: ct);
        }
        catch (RpcException ex)
        {
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "The roster (Ingestion) did not answer",
                detail: $"{ex.StatusCode}: {ex.Status.Detail}. Try again shortly.");
        }
        if (counselors.Counselors.Count == 0)
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No counselor to suggest",
                detail: $"School '{c.SchoolId}' has no counselor on the roster.");
        }
        var staffIds = counselors.Counselors.Select(s => s.StaffId).ToList();
        var loads = await Caseloads(db, staffIds, ct);
        var candidates = counselors.Counselors
            .Select(s => new SuggestedOwner(s.StaffId, $"{s.GivenName} {s.FamilyName}".Trim(), loads.GetValueOrDefault(s.StaffId)))
            .OrderBy(s => s.ActiveCases).ThenBy(s => s.StaffId, StringComparer.Ordinal)
            .ToList();
        return Results.Ok(new { caseId = c.CaseId, suggested = candidates[0], candidates });
    }

    private static async Task<Dictionary<string, int>> Caseloads(InterventionsDbContext db, List<string> staffIds, CancellationToken ct) =>
        await db.Cases.Where(c => c.AssignedTo != null && staffIds.Contains(c.AssignedTo) && CaseStatuses.Active.Contains(c.Status))
            .GroupBy(c => c.AssignedTo!).Select(g => new { g.Key, Count = g.Count() })
            .ToDictionaryAsync(g => g.Key, g => g.Count, ct);

    private static Task<IResult> PlanAsync(string caseId, HttpRequest request, InterventionsDbContext db, TimeProvider clock, CancellationToken ct) =>
        WithCaseAsync(caseId, request, new PlanValidator(), db, ct, (c, body) =>
        {
            var plan = new InterventionPlan
            {
                Type = body.Type!,
                Tier = body.Tier!.Value,
                Goal = body.Goal!,
                StartDate = DateOnly.ParseExact(body.StartDate!, "yyyy-MM-dd"),
                DurationWeeks = body.DurationWeeks!.Value,
                CheckInFrequency = body.CheckInFrequency!,
            };
            CaseWorkflow.SetPlan(c, plan, body.By!, clock.GetUtcNow());
            return Task.CompletedTask;
        });

    private static Task<IResult> StartAsync(string caseId, HttpRequest request, InterventionsDbContext db, TimeProvider clock, CancellationToken ct) =>
        WithCaseAsync(caseId, request, new StartValidator(), db, ct, (c, body) =>
        {
            CaseWorkflow.Start(c, body.By!, clock.GetUtcNow());
            return Task.CompletedTask;
        });

    private static Task<IResult> NoteAsync(string caseId, HttpRequest request, InterventionsDbContext db, TimeProvider clock, CancellationToken ct) =>
        WithCaseAsync(caseId, request, new NoteValidator(), db, ct, (c, body) =>
        {
            CaseWorkflow.AddNote(c, body.Text!, body.Contact ?? false, body.AuthorId!, clock.GetUtcNow());
            return Task.CompletedTask;
        });

    private static Task<IResult> CompleteAsync(string caseId, HttpRequest request, InterventionsDbContext db, TimeProvider clock, CancellationToken ct) =>
        WithCaseAsync(caseId, request, new OutcomeValidator(), db, ct, (c, body) =>
        {
            CaseWorkflow.Complete(c, body.Outcome!, body.By!, clock.GetUtcNow());
            PublishOutcome(db, c);
            return Task.CompletedTask;
        });

    private static Task<IResult> CloseAsync(string caseId, HttpRequest request, InterventionsDbContext db, TimeProvider clock, CancellationToken ct) =>
        WithCaseAsync(caseId, request, new OutcomeValidator(), db, ct, (c, body) =>
        {
            CaseWorkflow.Close(c, body.Outcome!, body.Reason, body.By!, clock.GetUtcNow());
            PublishOutcome(db, c);
            return Task.CompletedTask;
        });

    private static void PublishOutcome(InterventionsDbContext db, InterventionCase c) =>
        db.Publish(new InterventionOutcomeRecorded(c.CaseId, c.StudentId, c.SchoolId, c.Alerts.Select(a => a.AlertId).ToList(),
            c.Status, c.Outcome!, c.Plan?.Type, c.EndedAt!.Value));

    private static async Task<IResult> ActivityAsync(string caseId, ClaimsPrincipal user, InterventionsDbContext db, CancellationToken ct)
    {
        if (!Guid.TryParse(caseId, out var id))
        {
            return BadCaseId(caseId);
        }
        if (!await db.Cases.WhereSchoolVisibleTo(user, c => c.SchoolId).AnyAsync(c => c.CaseId == id, ct))
        {
            return CaseNotFound(caseId);
        }
        var lines = await db.Activity.AsNoTracking().Where(a => a.CaseId == id).OrderBy(a => a.Id).ToListAsync(ct);
        return Results.Ok(new { caseId = id, activity = lines.Select(a => new { a.At, a.Kind, a.By, a.Text }) });
    }

    private static async Task<IResult> CaseloadsAsync(string? schoolId, ClaimsPrincipal user, InterventionsDbContext db, CancellationToken ct)
    {
        var query = db.Cases.AsNoTracking().WhereSchoolVisibleTo(user, c => c.SchoolId)
            .Where(c => c.AssignedTo != null && CaseStatuses.Active.Contains(c.Status));
        if (!string.IsNullOrEmpty(schoolId))
        {
            query = query.Where(c => c.SchoolId == schoolId);
        }
        var rows = await query.GroupBy(c => new { c.AssignedTo, c.Status }).Select(g => new { g.Key.AssignedTo, g.Key.Status, Count = g.Count() }).ToListAsync(ct);
        var caseloads = rows.GroupBy(r => r.AssignedTo!).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => new
        {
            staffId = g.Key,
            active = g.Sum(r => r.Count),
            assigned = g.Where(r => r.Status == CaseStatuses.Assigned).Sum(r => r.Count),
            inProgress = g.Where(r => r.Status == CaseStatuses.InProgress).Sum(r => r.Count),
        });
        return Results.Ok(new { caseloads });
    }

    /// <summary>Loads the case, validates the body, applies the change, saves; maps rule breaks to problem details.</summary>
    private static async Task<IResult> WithCaseAsync<T>(string caseId, HttpRequest request, FluentValidation.IValidator<T> validator,
        InterventionsDbContext db, CancellationToken ct, Func<InterventionCase, T, Task> change)
        where T : class
    {
        if (!Guid.TryParse(caseId, out var id))
        {
            return BadCaseId(caseId);
        }
        // The case first: a caller who may not see it learns nothing, not even which fields it would need.
        var c = await db.Cases.Include(x => x.Alerts).WhereSchoolVisibleTo(request.HttpContext.User, x => x.SchoolId).FirstOrDefaultAsync(x => x.CaseId == id, ct);
        if (c is null)
        {
            return CaseNotFound(caseId);
        }
        var (body, problem) = await JsonBody.ReadAsync(request, validator, ct);
        if (body is null)
        {
            return problem!;
        }
        try
        {
            await change(c, body);
        }
        catch (CaseRuleException ex)
        {
            return ex.Conflict
                ? Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Not allowed in the case's current state", detail: ex.Message,
                    extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { [ex.Field] = [ex.Message] }, ["caseStatus"] = c.Status })
                : Results.ValidationProblem(new Dictionary<string, string[]> { [ex.Field] = [ex.Message] }, title: "Invalid request; nothing was changed");
        }
        await db.SaveChangesAsync(ct);
        return Results.Ok(CaseView.From(c));
    }

    private static IResult BadCaseId(string caseId) =>
        Results.ValidationProblem(new Dictionary<string, string[]> { ["caseId"] = [$"'{caseId}' is not a case id."] }, title: "Invalid case id");

    private static IResult CaseNotFound(string caseId) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such case", detail: $"Case '{caseId}' does not exist.");
}

public sealed record SuggestedOwner(string StaffId, string Name, int ActiveCases);

/// <summary>The JSON shape of a case returned by the write endpoints.</summary>
public sealed record CaseView(Guid CaseId, string StudentId, string SchoolId, string Status, string Reason, string? AssignedTo,
    IReadOnlyList<string> HelperIds, DateTimeOffset OpenedAt, DateOnly ContactDueBy, DateTimeOffset? FirstContactAt,
    InterventionPlan? Plan, string? Outcome, DateTimeOffset? EndedAt)
{
    public static CaseView From(InterventionCase c) => new(c.CaseId, c.StudentId, c.SchoolId, c.Status, c.Reason, c.AssignedTo,
        c.HelperIds, c.OpenedAt, c.ContactDueBy, c.FirstContactAt, c.Plan, c.Outcome, c.EndedAt);
}
