using Beacon.Contracts.EarlyWarning;
using Beacon.EarlyWarning.Grpc;
using Beacon.ServiceDefaults;

namespace Beacon.EarlyWarning.Apis;

/// <summary>
/// The REST route of alerts: the alerts of the caller's schools, the answer the gRPC EarlyWarning service gives
/// (the route calls it). A counselor's false-alarm feedback on an alert is with model monitoring (<see cref="MonitoringApi"/>).
/// </summary>
public static class AlertsApi
{
    public static IEndpointRouteBuilder MapAlertsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/early-warning/v1").RequireAuthorization(Policies.Staff).WithTags("Alerts");
        api.MapGet("/alerts", (string? schoolId, HttpContext http) =>
                GrpcRest.AnswerAsync<EarlyWarningGrpcService, ListAlertsResponse>(http, (ew, call) =>
                    ew.ListAlerts(new ListAlertsRequest { SchoolId = schoolId ?? "" }, call)))
            .WithName("ListAlerts").WithSummary("Alerts of the caller's schools, optionally of one school").Produces<ListAlertsResponse>();
        return app;
    }
}
