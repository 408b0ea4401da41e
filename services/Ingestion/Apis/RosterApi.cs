using Beacon.Contracts.Ingestion;
using Beacon.Ingestion.Grpc;
using Beacon.ServiceDefaults;

namespace Beacon.Ingestion.Apis;

/// <summary>
/// Every REST route that reads the roster: a student, a student's attendance history, a school's counselors. Each
/// calls the gRPC service other services ask (Roster, AttendanceHistory), so a script gets the answer they get.
/// The roster is written by the intake (POST /roster, /oneroster in <see cref="IntakeApi"/>). A student outside
/// the caller's schools is a 404, like one that does not exist.
/// </summary>
public static class RosterApi
{
    public static IEndpointRouteBuilder MapRosterApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/ingestion/v1").RequireAuthorization(Policies.Staff).WithTags("Roster");
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
}
