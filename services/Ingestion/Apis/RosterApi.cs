using System.Security.Claims;
using Beacon.Contracts.Ingestion;
using Beacon.Ingestion.Grpc;
using Beacon.Ingestion.Storage;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Apis;

/// <summary>
/// Every REST route that reads the roster: a student, a student's attendance history, a school's counselors. Each
/// calls the gRPC service other services ask (Roster, AttendanceHistory), so a script gets the answer they get.
/// The roster is written by the intake (POST /roster, /oneroster in <see cref="IntakeApi"/>). A student outside
/// the caller's schools is a 404, like one that does not exist. Search is REST only (no other service searches).
/// </summary>
public static class RosterApi
{
    public sealed record StudentMatch(string StudentId, string GivenName, string FamilyName, string SchoolId, string GradeLevel, string Status);

    public sealed record StudentSearchResult(string Query, IReadOnlyList<StudentMatch> Students, bool Truncated);

    public static IEndpointRouteBuilder MapRosterApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/ingestion/v1").RequireAuthorization(Policies.Staff).WithTags("Roster");
        api.MapGet("/students", SearchAsync)
            .WithName("SearchStudents")
            .WithSummary("Students of the caller's schools whose name or id contains every word of q (case and accents ignored), or whose roster identifier is q")
            .Produces<StudentSearchResult>().ProducesValidationProblem();
        api.MapGet("/students/{studentId}", (string studentId, HttpContext http) =>
                GrpcRest.AnswerAsync<RosterGrpcService, Student>(http, (roster, call) => roster.GetStudent(new GetStudentRequest { StudentId = studentId }, call)))
            .WithName("GetStudent").WithSummary("A student on the roster").Produces<Student>().ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/students/{studentId}/attendance", (string studentId, string? since, HttpContext http) =>
                GrpcRest.AnswerAsync<AttendanceHistoryGrpcService, GetAttendanceHistoryResponse>(http, (history, call) =>
                    history.GetAttendanceHistory(new GetAttendanceHistoryRequest { StudentId = studentId, Since = since ?? "" }, call)))
            .WithName("GetAttendanceHistory").WithSummary("A student's recorded school days, optionally since a date (yyyy-MM-dd)")
            .Produces<GetAttendanceHistoryResponse>().ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/schools/{schoolId}/counselors", (string schoolId, HttpContext http) =>
                GrpcRest.AnswerAsync<RosterGrpcService, ListSchoolCounselorsResponse>(http, (roster, call) =>
                    roster.ListSchoolCounselors(new ListSchoolCounselorsRequest { SchoolId = schoolId }, call)))
            .WithName("ListSchoolCounselors").WithSummary("The counselors of a school").Produces<ListSchoolCounselorsResponse>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    /// <summary>
    /// Every word of <paramref name="q"/> must occur in the student's folded names or id, or q is exactly one of the
    /// student's roster identifiers (OneRoster identifier, userIds, e-mail; never a hash). An exact id comes first, then
    /// by family name, given name and id (folded: the search key). Withdrawn students are found too (their status says so): staff look up
    /// former students' cases.
    /// </summary>
    private static async Task<IResult> SearchAsync(string? q, string? schoolId, int? limit, IngestionDbContext db, ClaimsPrincipal user, CancellationToken ct)
    {
        var query = (q ?? "").Trim();
        var errors = new Dictionary<string, string[]>();
        if (query.Length < Domain.StudentSearch.MinQueryLength || query.Length > Domain.StudentSearch.MaxQueryLength)
        {
            errors["q"] = [$"Give between {Domain.StudentSearch.MinQueryLength} and {Domain.StudentSearch.MaxQueryLength} characters of a name or id (got {query.Length})."];
        }
        if (limit is < 1 or > Domain.StudentSearch.MaxLimit)
        {
            errors["limit"] = [$"limit must be between 1 and {Domain.StudentSearch.MaxLimit} (got {limit})."];
        }
        if (errors.Count > 0)
        {
            return Results.ValidationProblem(errors, title: "The search cannot be run");
        }
        var take = limit ?? Domain.StudentSearch.DefaultLimit;
        var students = db.Students.AsNoTracking().WhereSchoolVisibleTo(user, s => s.SchoolId);
        if (!string.IsNullOrEmpty(schoolId))
        {
            students = students.Where(s => s.SchoolId == schoolId);
        }
        var byWords = students;
        foreach (var word in Domain.StudentSearch.Words(query))
        {
            byWords = byWords.Where(s => s.SearchKey.Contains(word));
        }
        string[] exact = [query, query.ToLowerInvariant()];
        var byIdentifier = students.Where(s => db.StudentIdentifiers.Any(i =>
            i.StudentId == s.StudentId && i.Kind != Domain.IdentifierKinds.MboxSha1Sum && exact.Contains(i.Value)));
        var found = await byWords.Union(byIdentifier)
            .OrderBy(s => s.StudentId == query ? 0 : 1).ThenBy(s => s.SearchKey).ThenBy(s => s.StudentId)
            .Take(take + 1)
            .Select(s => new StudentMatch(s.StudentId, s.GivenName, s.FamilyName, s.SchoolId, s.GradeLevel, s.Status))
            .ToListAsync(ct);
        return Results.Ok(new StudentSearchResult(query, found.Take(take).ToList(), found.Count > take));
    }
}
