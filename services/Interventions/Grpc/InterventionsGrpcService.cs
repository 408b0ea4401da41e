using Beacon.Contracts.Interventions;
using Beacon.Interventions.Storage;
using Beacon.ServiceDefaults;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.EntityFrameworkCore;
using CaseMessage = Beacon.Contracts.Interventions.InterventionCase;

namespace Beacon.Interventions.Grpc;

public sealed class InterventionsGrpcService(InterventionsDbContext db) : Contracts.Interventions.Interventions.InterventionsBase
{
    [Authorize(Policy = Policies.Staff)]
    public override async Task<ListCasesResponse> ListCases(ListCasesRequest request, ServerCallContext context)
    {
        var query = db.Cases.AsNoTracking().Include(c => c.Alerts).WhereSchoolVisibleTo(context.GetHttpContext().User, c => c.SchoolId);
        if (!string.IsNullOrEmpty(request.Status))
        {
            query = query.Where(c => c.Status == request.Status);
        }
        if (!string.IsNullOrEmpty(request.SchoolId))
        {
            query = query.Where(c => c.SchoolId == request.SchoolId);
        }
        if (!string.IsNullOrEmpty(request.StudentId))
        {
            query = query.Where(c => c.StudentId == request.StudentId);
        }
        var cases = await query.ToListAsync(context.CancellationToken);
        var response = new ListCasesResponse();
        response.Cases.AddRange(cases.OrderByDescending(c => c.OpenedAt).Select(ToMessage));
        return response;
    }

    [Authorize(Policy = Policies.Staff)]
    public override async Task<CaseMessage> GetCase(GetCaseRequest request, ServerCallContext context)
    {
        if (!Guid.TryParse(request.CaseId, out var caseId))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"case_id: '{request.CaseId}' is not a case id."));
        }
        var found = await db.Cases.AsNoTracking().Include(c => c.Alerts).WhereSchoolVisibleTo(context.GetHttpContext().User, c => c.SchoolId).FirstOrDefaultAsync(c => c.CaseId == caseId, context.CancellationToken)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"Case '{request.CaseId}' does not exist."));
        return ToMessage(found);
    }

    private static CaseMessage ToMessage(Domain.InterventionCase c)
    {
        var alerts = c.Alerts.OrderBy(a => a.RaisedAt).ToList();
        var message = new CaseMessage
        {
            CaseId = c.CaseId.ToString(),
            AlertId = alerts.FirstOrDefault()?.AlertId.ToString() ?? "",
            StudentId = c.StudentId,
            SchoolId = c.SchoolId,
            Status = c.Status,
            OpenedAt = c.OpenedAt.ToString("O"),
            Reason = c.Reason,
            AssignedTo = c.AssignedTo ?? "",
            ContactDueBy = c.ContactDueBy.ToString("yyyy-MM-dd"),
            FirstContactAt = c.FirstContactAt?.ToString("O") ?? "",
            Escalated = c.EscalatedAt is not null,
            Outcome = c.Outcome ?? "",
            EndedAt = c.EndedAt?.ToString("O") ?? "",
            NextCheckIn = c.NextCheckIn?.ToString("yyyy-MM-dd") ?? "",
            TakenBy = c.TakenBy ?? "",
            LastContactAt = c.LastContactAt?.ToString("O") ?? "",
        };
        message.HelperIds.AddRange(c.HelperIds);
        message.AlertIds.AddRange(alerts.Select(a => a.AlertId.ToString()));
        if (c.Plan is { } p)
        {
            message.Plan = new InterventionPlan
            {
                Type = p.Type,
                Tier = p.Tier,
                Goal = p.Goal,
                StartDate = p.StartDate.ToString("yyyy-MM-dd"),
                DurationWeeks = p.DurationWeeks,
                CheckInFrequency = p.CheckInFrequency,
            };
        }
        return message;
    }
}
