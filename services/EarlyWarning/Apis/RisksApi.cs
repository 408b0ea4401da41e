using Beacon.Contracts.EarlyWarning;
using Beacon.EarlyWarning.Grpc;
using Beacon.ServiceDefaults;

namespace Beacon.EarlyWarning.Apis;

/// <summary>
/// Every REST route of students' risk: the alerts raised, a student's indicators and model risk, the list of risks.
/// Each calls the gRPC EarlyWarning service, so a script gets the answer a gRPC caller gets. A counselor's
/// false-alarm feedback on an alert is with model monitoring (<see cref="MonitoringApi"/>).
/// </summary>
public static class RisksApi
{
    public static IEndpointRouteBuilder MapRisksApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/early-warning/v1").RequireAuthorization(Policies.Staff).WithTags("Risks");
        api.MapGet("/alerts", (string? schoolId, HttpContext http) =>
                GrpcRest.AnswerAsync<EarlyWarningGrpcService, ListAlertsResponse>(http, (ew, call) =>
                    ew.ListAlerts(new ListAlertsRequest { SchoolId = schoolId ?? "" }, call)))
            .WithName("ListAlerts").WithSummary("Alerts of the caller's schools, optionally of one school").Produces<ListAlertsResponse>();
        api.MapGet("/students/{studentId}/indicators", (string studentId, HttpContext http) =>
                GrpcRest.AnswerAsync<EarlyWarningGrpcService, StudentIndicators>(http, (ew, call) =>
                    ew.GetStudentIndicators(new GetStudentIndicatorsRequest { StudentId = studentId }, call)))
            .WithName("GetStudentIndicators").WithSummary("A student's indicators: attendance, behaviour, course performance").Produces<StudentIndicators>();
        api.MapGet("/students/{studentId}/risk", (string studentId, string? kind, HttpContext http) =>
                GrpcRest.AnswerAsync<EarlyWarningGrpcService, StudentRisk>(http, (ew, call) =>
                    ew.GetStudentRisk(new GetStudentRiskRequest { StudentId = studentId, Kind = kind ?? "" }, call)))
            .WithName("GetStudentRisk").WithSummary("A student's model risk: calibrated probability, band, model version, top factors in counselor words")
            .Produces<StudentRisk>();
        api.MapGet("/risks", (string? schoolId, bool? flaggedOnly, string? kind, int? limit, HttpContext http) =>
            {
                var request = new ListRisksRequest { SchoolId = schoolId ?? "", Kind = kind ?? "", Limit = limit ?? 0 };
                if (flaggedOnly is { } flagged)
                {
                    // Optional in the contract: absent means true, so only a value that was sent is set.
                    request.FlaggedOnly = flagged;
                }
                return GrpcRest.AnswerAsync<EarlyWarningGrpcService, ListRisksResponse>(http, (ew, call) => ew.ListRisks(request, call));
            })
            .WithName("ListRisks").WithSummary("Students' model risks, highest first; by default only those flagged").Produces<ListRisksResponse>();
        return app;
    }
}
