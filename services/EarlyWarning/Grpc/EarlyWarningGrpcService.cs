using Beacon.Contracts.EarlyWarning;
using Beacon.EarlyWarning.Domain;
using Beacon.EarlyWarning.Storage;
using Grpc.Core;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.EarlyWarning.Grpc;

public sealed class EarlyWarningGrpcService(EarlyWarningDbContext db, IOptions<ChronicAbsenceOptions> options)
    : Contracts.EarlyWarning.EarlyWarning.EarlyWarningBase
{
    public override async Task<ListAlertsResponse> ListAlerts(ListAlertsRequest request, ServerCallContext context)
    {
        var query = db.Alerts.AsNoTracking();
        if (!string.IsNullOrEmpty(request.SchoolId))
        {
            query = query.Where(a => a.SchoolId == request.SchoolId);
        }
        var alerts = await query.ToListAsync(context.CancellationToken);
        var response = new ListAlertsResponse();
        response.Alerts.AddRange(alerts.OrderByDescending(a => a.RaisedAt).Select(a => new Contracts.EarlyWarning.RiskAlert
        {
            AlertId = a.AlertId.ToString(),
            StudentId = a.StudentId,
            SchoolId = a.SchoolId,
            Kind = a.Kind,
            RaisedAt = a.RaisedAt.ToString("O"),
            Reason = a.Reason,
            AbsenceRate = a.Score,
        }));
        return response;
    }

    public override async Task<StudentIndicators> GetStudentIndicators(GetStudentIndicatorsRequest request, ServerCallContext context)
    {
        var state = await db.RiskStates.AsNoTracking().FirstOrDefaultAsync(s => s.StudentId == request.StudentId, context.CancellationToken)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"No attendance has been recorded for student '{request.StudentId}'."));
        var reading = ChronicAbsenceIndicator.Evaluate(new AttendanceSummary(state.DaysEnrolled, state.DaysAbsent), options.Value);
        return new StudentIndicators
        {
            StudentId = state.StudentId,
            DaysEnrolled = state.DaysEnrolled,
            DaysAbsent = state.DaysAbsent,
            AbsenceRate = reading.Summary.AbsenceRate,
            ChronicallyAbsent = state.ChronicallyAbsent,
            Explanation = reading.Explanation,
        };
    }
}
