using System.Security.Claims;
using Beacon.Contracts.Events;
using Beacon.Interventions.Domain;
using Beacon.Interventions.Storage;
using Beacon.Messaging;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Interventions.Apis;

/// <summary>
/// What a counselor does without waiting for a coordinator: take an unassigned case of their school, log a contact
/// (with whom, how), schedule the next check-in, see whom to call. Same rules as the other case endpoints: 404 for a case the caller
/// cannot see, 409 for a step the case's state forbids, 400 naming the field; never a 500.
/// </summary>
public static class CounselorActions
{
    public static void MapCounselorActions(this RouteGroupBuilder api)
    {
        api.MapPost("/cases/{caseId}/take", TakeAsync).RequireAuthorization(p => p.RequireRole(Roles.Counselor, Roles.Administrator)).WithName("TakeCase")
            .WithSummary("Take an unassigned case of my school (counselors)")
            .WithDescription("The case becomes the caller's, as an assignment would make it (InterventionAssigned is published); its history says it was taken.")
            .Accepts<TakeRequest>("application/json").Produces<CaseView>().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        api.MapPost("/cases/{caseId}/contacts", ContactAsync).WithName("LogContact")
            .WithSummary("Log a contact: with (student, parent-guardian, teacher), how (call, meeting, message), an optional note")
            .Accepts<ContactRequest>("application/json").Produces<CaseView>().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        api.MapGet("/cases/{caseId}/family", FamilyAsync).WithName("CaseFamilyContacts")
            .WithSummary("Whom to call about the case: the student's parents, guardians and relatives as the roster names them")
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapPut("/cases/{caseId}/next-check-in", CheckInAsync).WithName("ScheduleCheckIn")
            .WithSummary("Schedule the next check-in (today or later)")
            .Accepts<CheckInRequest>("application/json").Produces<CaseView>().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
    }

    private static Task<IResult> TakeAsync(string caseId, HttpRequest request, InterventionsDbContext db, TimeProvider clock, CancellationToken ct) =>
        CasesApi.WithCaseAsync(caseId, request, new TakeValidator(), b => (b.By, "by"), db, ct, (c, _, by) =>
        {
            var now = clock.GetUtcNow();
            CaseWorkflow.Take(c, by, now);
            // Notifications and every other reader see it as the assignment it is, made by the counselor.
            db.Publish(new InterventionAssigned(c.CaseId, c.StudentId, c.SchoolId, by, c.HelperIds, by, now));
            return Task.CompletedTask;
        });

    private static Task<IResult> ContactAsync(string caseId, HttpRequest request, InterventionsDbContext db, TimeProvider clock, CancellationToken ct) =>
        CasesApi.WithCaseAsync(caseId, request, new ContactValidator(), b => (b.By, "by"), db, ct, (c, body, by) =>
        {
            CaseWorkflow.LogContact(c, body.With!, body.How!, body.Note, by, clock.GetUtcNow(), body.MinutesSpent);
            return Task.CompletedTask;
        });

    private static async Task<IResult> FamilyAsync(string caseId, ClaimsPrincipal user, InterventionsDbContext db, CancellationToken ct)
    {
        var (found, problem) = await CasesApi.VisibleCaseAsync(caseId, user, db, ct);
        if (found is null)
        {
            return problem!;
        }
        var (id, studentId) = (found.CaseId, found.StudentId);
        var contacts = await db.FamilyContacts.AsNoTracking().Where(c => c.StudentId == studentId).ToListAsync(ct);
        return Results.Ok(new
        {
            caseId = id,
            studentId,
            contacts = contacts.OrderBy(c => c.Relationship == "relative").ThenBy(c => c.FamilyName).ThenBy(c => c.GivenName)
                .Select(c => new { c.ContactId, c.Relationship, c.GivenName, c.FamilyName, c.Email, c.Phone, c.Sms, c.RecordedAt }),
        });
    }

    private static Task<IResult> CheckInAsync(string caseId, HttpRequest request, InterventionsDbContext db, TimeProvider clock, CancellationToken ct) =>
        CasesApi.WithCaseAsync(caseId, request, new CheckInValidator(), b => (b.By, "by"), db, ct, (c, body, by) =>
        {
            var now = clock.GetUtcNow();
            CaseWorkflow.ScheduleCheckIn(c, DateOnly.ParseExact(body.Date!, "yyyy-MM-dd"), DateOnly.FromDateTime(now.UtcDateTime), by, now);
            return Task.CompletedTask;
        });
}
