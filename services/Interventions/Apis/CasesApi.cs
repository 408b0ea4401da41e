using System.Security.Claims;
using Beacon.Contracts.Events;
using Beacon.Contracts.Ingestion;
using Beacon.Interventions.Domain;
using Beacon.Interventions.Grpc;
using Beacon.Interventions.Storage;
using Beacon.Messaging;
using Beacon.ServiceDefaults;
using Grpc.Core;
using Microsoft.EntityFrameworkCore;
using CaseMessage = Beacon.Contracts.Interventions.InterventionCase;
using GetCaseRequest = Beacon.Contracts.Interventions.GetCaseRequest;
using ListCasesRequest = Beacon.Contracts.Interventions.ListCasesRequest;
using ListCasesResponse = Beacon.Contracts.Interventions.ListCasesResponse;

namespace Beacon.Interventions.Apis;

/// <summary>
/// Every REST route of a case: list and read (the same answers as the gRPC Interventions service, which they call),
/// open, assign (one or many), plan, start, note, complete, close, its activity and the caseloads.
/// Rule breaks are 409 problem details naming the field (e.g. "status"), bad values 400; never a 500.
/// </summary>
public static class CasesApi
{
    public static IEndpointRouteBuilder MapCasesApi(this IEndpointRouteBuilder app)
    {
        // Staff work on cases of their own schools; assigning is a coordinator's job.
        var api = app.MapGroup("/api/interventions/v1").RequireAuthorization(Policies.Staff).WithTags("Cases");
        api.MapGet("/cases", (string? status, string? schoolId, string? studentId, HttpContext http) =>
                GrpcRest.AnswerAsync<InterventionsGrpcService, ListCasesResponse>(http, (cases, call) =>
                    cases.ListCases(new ListCasesRequest { Status = status ?? "", SchoolId = schoolId ?? "", StudentId = studentId ?? "" }, call)))
            .WithName("ListCases").WithSummary("Cases of the caller's schools, newest first, optionally by status, school or student")
            .Produces<ListCasesResponse>();
        api.MapGet("/cases/{caseId}", (string caseId, HttpContext http) =>
                GrpcRest.AnswerAsync<InterventionsGrpcService, CaseMessage>(http, (cases, call) => cases.GetCase(new GetCaseRequest { CaseId = caseId }, call)))
            .WithName("GetCase").WithSummary("One case").Produces<CaseMessage>().ProducesProblem(StatusCodes.Status404NotFound);
        api.MapPost("/cases", OpenAsync).WithName("OpenCase")
            .WithSummary("Open a case by hand")
            .WithDescription("Opens an outreach case for a student of the caller's schools; 409 if the student already has an active case. The acting user is the token's subject.")
            .Accepts<OpenCaseRequest>("application/json").Produces<CaseView>(StatusCodes.Status201Created).ProducesProblem(StatusCodes.Status409Conflict);
        api.MapPost("/cases/{caseId}/assignment", AssignAsync).RequireAuthorization(Policies.Coordinators).WithName("AssignCase")
            .WithSummary("Assign an owner and helpers").Accepts<AssignRequest>("application/json").Produces<CaseView>().ProducesCaseProblems();
        api.MapPost("/assignments", BulkAssignAsync).RequireAuthorization(Policies.Coordinators).WithName("AssignCases")
            .WithSummary("Assign many cases at once")
            .WithDescription("Keeps the valid part: every case that could not be assigned is named in errors (caseIds[i]).")
            .Accepts<BulkAssignRequest>("application/json");
        api.MapGet("/cases/{caseId}/suggested-owner", SuggestOwnerAsync).RequireAuthorization(Policies.Coordinators).WithName("SuggestOwner")
            .WithSummary("Suggest the school counselor with the fewest active cases").ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapPut("/cases/{caseId}/plan", PlanAsync).WithName("SetPlan")
            .WithSummary("Set the intervention plan").Accepts<PlanRequest>("application/json").Produces<CaseView>().ProducesCaseProblems();
        api.MapPost("/cases/{caseId}/start", StartAsync).WithName("StartCase")
            .WithSummary("Start the planned intervention").Accepts<StartRequest>("application/json").Produces<CaseView>().ProducesCaseProblems();
        api.MapPost("/cases/{caseId}/notes", NoteAsync).WithName("AddNote")
            .WithSummary("Add a note or record a contact").Accepts<NoteRequest>("application/json").Produces<CaseView>().ProducesCaseProblems();
        api.MapPost("/cases/{caseId}/completion", CompleteAsync).WithName("CompleteCase")
            .WithSummary("Complete with an outcome").Accepts<OutcomeRequest>("application/json").Produces<CaseView>().ProducesCaseProblems();
        api.MapPost("/cases/{caseId}/closure", CloseAsync).WithName("CloseCase")
            .WithSummary("Close with an outcome (false-alarm is counselor feedback to Early warning)")
            .Accepts<OutcomeRequest>("application/json").Produces<CaseView>().ProducesCaseProblems();
        api.MapGet("/cases/{caseId}/activity", ActivityAsync).WithName("CaseActivity")
            .WithSummary("The case's history: who did what, when").ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/caseloads", CaseloadsAsync).RequireAuthorization(Policies.Coordinators).WithName("Caseloads")
            .WithSummary("Active cases per owner, optionally for one school");
        api.MapCounselorActions();
        return app;
    }

    private static async Task<IResult> OpenAsync(HttpRequest request, InterventionsDbContext db, CaseOpener opener, CancellationToken ct)
    {
        var (body, problem) = await JsonBody.ReadAsync(request, new OpenCaseValidator(), ct);
        if (body is null)
        {
            return problem!;
        }
        var (openedBy, notYou) = ActingUser.Resolve(request.HttpContext.User, body.OpenedBy, "openedBy");
        if (openedBy is null)
        {
            return notYou!;
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
        var opened = opener.Open(body.StudentId!, body.SchoolId!, body.Reason!, openedBy, alertId: null);
        await db.SaveChangesAsync(ct);
        return Results.Created($"/api/interventions/v1/cases/{opened.CaseId}", CaseView.From(opened));
    }

    private static Task<IResult> AssignAsync(string caseId, HttpRequest request, InterventionsDbContext db, TimeProvider clock, CancellationToken ct) =>
        WithCaseAsync(caseId, request, new AssignValidator(), b => (b.AssignedBy, "assignedBy"), db, ct, (c, body, by) =>
        {
            Assign(db, c, body.OwnerId!, body.HelperIds ?? [], by, clock.GetUtcNow());
            return Task.CompletedTask;
        });

    private static async Task<IResult> BulkAssignAsync(HttpRequest request, InterventionsDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var (body, problem) = await JsonBody.ReadAsync(request, new BulkAssignValidator(), ct);
        if (body is null)
        {
            return problem!;
        }
        var (assignedBy, notYou) = ActingUser.Resolve(request.HttpContext.User, body.AssignedBy, "assignedBy");
        if (assignedBy is null)
        {
            return notYou!;
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
                Assign(db, c, body.OwnerId!, body.HelperIds ?? [], assignedBy, now);
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
        var (c, problem) = await VisibleCaseAsync(caseId, user, db, ct);
        if (c is null)
        {
            return problem!;
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
        WithCaseAsync(caseId, request, new PlanValidator(), b => (b.By, "by"), db, ct, async (c, body, by) =>
        {
            var plan = new InterventionPlan
            {
                Type = body.Type!,
                Tier = body.Tier!.Value,
                Goal = body.Goal!,
                StartDate = DateOnly.ParseExact(body.StartDate!, "yyyy-MM-dd"),
                DurationWeeks = body.DurationWeeks!.Value,
                CheckInFrequency = body.CheckInFrequency!,
                ExpectedHours = body.ExpectedHours,
                RiskBandAtStart = await ResourceReport.WorstBandAsync(db, c.StudentId, ct),
            };
            CaseWorkflow.SetPlan(c, plan, by, clock.GetUtcNow());
        });

    private static Task<IResult> StartAsync(string caseId, HttpRequest request, InterventionsDbContext db, TimeProvider clock, CancellationToken ct) =>
        WithCaseAsync(caseId, request, new StartValidator(), b => (b.By, "by"), db, ct, (c, _, by) =>
        {
            CaseWorkflow.Start(c, by, clock.GetUtcNow());
            return Task.CompletedTask;
        });

    private static Task<IResult> NoteAsync(string caseId, HttpRequest request, InterventionsDbContext db, TimeProvider clock, CancellationToken ct) =>
        WithCaseAsync(caseId, request, new NoteValidator(), b => (b.AuthorId, "authorId"), db, ct, (c, body, by) =>
        {
            CaseWorkflow.AddNote(c, body.Text!, body.Contact ?? false, by, clock.GetUtcNow(), body.MinutesSpent);
            return Task.CompletedTask;
        });

    private static Task<IResult> CompleteAsync(string caseId, HttpRequest request, InterventionsDbContext db, TimeProvider clock, CancellationToken ct) =>
        WithCaseAsync(caseId, request, new OutcomeValidator(), b => (b.By, "by"), db, ct, (c, body, by) =>
        {
            CaseWorkflow.Complete(c, body.Outcome!, by, clock.GetUtcNow());
            PublishOutcome(db, c);
            return Task.CompletedTask;
        });

    private static Task<IResult> CloseAsync(string caseId, HttpRequest request, InterventionsDbContext db, TimeProvider clock, CancellationToken ct) =>
        WithCaseAsync(caseId, request, new OutcomeValidator(), b => (b.By, "by"), db, ct, (c, body, by) =>
        {
            CaseWorkflow.Close(c, body.Outcome!, body.Reason, by, clock.GetUtcNow());
            PublishOutcome(db, c);
            return Task.CompletedTask;
        });

    private static void PublishOutcome(InterventionsDbContext db, InterventionCase c) =>
        db.Publish(new InterventionOutcomeRecorded(c.CaseId, c.StudentId, c.SchoolId, c.Alerts.Select(a => a.AlertId).ToList(),
            c.Status, c.Outcome!, c.Plan?.Type, c.EndedAt!.Value));

    private static async Task<IResult> ActivityAsync(string caseId, ClaimsPrincipal user, InterventionsDbContext db, CancellationToken ct)
    {
        var (c, problem) = await VisibleCaseAsync(caseId, user, db, ct);
        if (c is null)
        {
            return problem!;
        }
        var lines = await db.Activity.AsNoTracking().Where(a => a.CaseId == c.CaseId).OrderBy(a => a.Id).ToListAsync(ct);
        return Results.Ok(new { caseId = c.CaseId, activity = lines.Select(a => new { a.At, a.Kind, a.By, a.Text, a.MinutesSpent }) });
    }

    /// <summary>
    /// A case the caller may see (its school is one of theirs), read without tracking, for the reads of a case's parts;
    /// or the problem to answer instead: 400 for an id that is not a GUID, 404 for a case that does not exist or that
    /// the caller may not see (the same answer, so a case of another school is not revealed).
    /// </summary>
    internal static async Task<(InterventionCase? Case, IResult? Problem)> VisibleCaseAsync(string caseId, ClaimsPrincipal user, InterventionsDbContext db, CancellationToken ct)
    {
        if (!Guid.TryParse(caseId, out var id))
        {
            return (null, BadCaseId(caseId));
        }
        var c = await db.Cases.AsNoTracking().WhereSchoolVisibleTo(user, x => x.SchoolId).FirstOrDefaultAsync(x => x.CaseId == id, ct);
        return c is null ? (null, CaseNotFound(caseId)) : (c, null);
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

    /// <summary>
    /// Loads the case, validates the body, settles the acting user (the token's subject, see <see cref="ActingUser"/>),
    /// applies the change, saves; maps rule breaks to problem details.
    /// </summary>
    internal static async Task<IResult> WithCaseAsync<T>(string caseId, HttpRequest request, FluentValidation.IValidator<T> validator,
        Func<T, (string? Named, string Field)> actor, InterventionsDbContext db, CancellationToken ct, Func<InterventionCase, T, string, Task> change)
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
        var (named, field) = actor(body);
        var (by, notYou) = ActingUser.Resolve(request.HttpContext.User, named, field);
        if (by is null)
        {
            return notYou!;
        }
        try
        {
            await change(c, body, by);
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

    /// <summary>404 for a case the caller cannot see, 409 for a step the case's state does not allow.</summary>
    private static RouteHandlerBuilder ProducesCaseProblems(this RouteHandlerBuilder builder) =>
        builder.ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);

    private static IResult BadCaseId(string caseId) =>
        Results.ValidationProblem(new Dictionary<string, string[]> { ["caseId"] = [$"'{caseId}' is not a case id."] }, title: "Invalid case id");

    private static IResult CaseNotFound(string caseId) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such case", detail: $"Case '{caseId}' does not exist.");
}

public sealed record SuggestedOwner(string StaffId, string Name, int ActiveCases);

/// <summary>The JSON shape of a case returned by the write endpoints.</summary>
public sealed record CaseView(Guid CaseId, string StudentId, string SchoolId, string Status, string Reason, string? AssignedTo,
    IReadOnlyList<string> HelperIds, DateTimeOffset OpenedAt, DateOnly ContactDueBy, DateTimeOffset? FirstContactAt,
    InterventionPlan? Plan, string? Outcome, DateTimeOffset? EndedAt, DateOnly? NextCheckIn, string? TakenBy, DateTimeOffset? LastContactAt)
{
    public static CaseView From(InterventionCase c) => new(c.CaseId, c.StudentId, c.SchoolId, c.Status, c.Reason, c.AssignedTo,
        c.HelperIds, c.OpenedAt, c.ContactDueBy, c.FirstContactAt, c.Plan, c.Outcome, c.EndedAt, c.NextCheckIn, c.TakenBy, c.LastContactAt);
}
