using Beacon.Contracts.EarlyWarning;
using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Domain;
using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels.Attendance;
using Beacon.ServiceDefaults;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.EarlyWarning.Grpc;

public sealed class EarlyWarningGrpcService(EarlyWarningDbContext db, IOptions<ChronicAbsenceOptions> options, ModelRegistry registry,
    BatchRescoring rescoring, TimeProvider clock, Beacon.Messaging.ScheduledJobs<EarlyWarningDbContext> jobs, IOptions<NightlyRescoreOptions> nightlyOptions,
    DistrictThresholds thresholds, ModelTraining training)
    : Contracts.EarlyWarning.EarlyWarning.EarlyWarningBase
{
    [Authorize(Policy = Policies.Staff)]
    public override async Task<ListAlertsResponse> ListAlerts(ListAlertsRequest request, ServerCallContext context)
    {
        var query = db.Alerts.AsNoTracking().WhereSchoolVisibleTo(context.GetHttpContext().User, a => a.SchoolId);
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
            RaisedBy = a.RaisedBy ?? "",
            SignalSentAt = a.SignalSentAt?.ToString("O") ?? "",
        }));
        return response;
    }

    [Authorize(Policy = Policies.Staff)]
    public override async Task<StudentIndicators> GetStudentIndicators(GetStudentIndicatorsRequest request, ServerCallContext context)
    {
        // A student outside the caller's schools looks exactly like one with no data.
        var user = context.GetHttpContext().User;
        var ct = context.CancellationToken;
        var state = await db.RiskStates.AsNoTracking().WhereSchoolVisibleTo(user, s => s.SchoolId)
            .FirstOrDefaultAsync(s => s.StudentId == request.StudentId, ct);
        var others = await db.IndicatorStates.AsNoTracking().WhereSchoolVisibleTo(user, s => s.SchoolId)
            .Where(s => s.StudentId == request.StudentId).ToDictionaryAsync(s => s.Kind, ct);
        if (state is null && others.Count == 0)
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"No attendance, grade or behaviour incident has been recorded for student '{request.StudentId}'."));
        }
        var reading = ChronicAbsenceIndicator.Evaluate(new AttendanceSummary(state?.DaysEnrolled ?? 0, state?.DaysAbsent ?? 0), options.Value);
        var result = new StudentIndicators
        {
            StudentId = request.StudentId,
            DaysEnrolled = reading.Summary.DaysEnrolled,
            DaysAbsent = reading.Summary.DaysAbsent,
            AbsenceRate = reading.Summary.AbsenceRate,
            ChronicallyAbsent = state?.ChronicallyAbsent ?? false,
            Explanation = state is null ? "No attendance recorded." : reading.Explanation,
        };
        result.Indicators.Add(new IndicatorStatus
        {
            Kind = RiskKinds.ChronicAbsence,
            Flagged = result.ChronicallyAbsent,
            Score = reading.Summary.AbsenceRate,
            Explanation = result.Explanation,
            Crossings = state?.Crossings ?? 0,
            HasData = state is not null,
        });
        foreach (var kind in (string[])[RiskKinds.Behavior, RiskKinds.CoursePerformance])
        {
            var other = others.GetValueOrDefault(kind);
            result.Indicators.Add(new IndicatorStatus
            {
                Kind = kind,
                Flagged = other?.Flagged ?? false,
                Score = other?.Score ?? 0,
                Explanation = other?.Explanation ?? (kind == RiskKinds.Behavior ? "No behaviour incidents recorded." : "No course marks recorded."),
                Crossings = other?.Crossings ?? 0,
                HasData = other is not null,
            });
        }
        return result;
    }

    [Authorize(Policy = Policies.Staff)]
    public override async Task<StudentRisk> GetStudentRisk(GetStudentRiskRequest request, ServerCallContext context)
    {
        var kind = string.IsNullOrEmpty(request.Kind) ? AttendanceFeatures.Kind : request.Kind;
        var score = await db.RiskScores.AsNoTracking().WhereSchoolVisibleTo(context.GetHttpContext().User, s => s.SchoolId).FirstOrDefaultAsync(s => s.StudentId == request.StudentId && s.Kind == kind, context.CancellationToken)
            ?? throw new RpcException(new Status(StatusCode.NotFound,
                $"No '{kind}' risk score for student '{request.StudentId}': no signal since a model was promoted, or no model is active."));
        return ModelsGrpc.ToMessage(score);
    }

    [Authorize(Policy = Policies.Staff)]
    public override async Task<ListRisksResponse> ListRisks(ListRisksRequest request, ServerCallContext context)
    {
        if (request.Limit is < 0 or > 5000)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"limit must be between 1 and 5000 (0 means 500); got {request.Limit}."));
        }
        var kind = string.IsNullOrEmpty(request.Kind) ? AttendanceFeatures.Kind : request.Kind;
        var query = db.RiskScores.AsNoTracking().Where(s => s.Kind == kind).WhereSchoolVisibleTo(context.GetHttpContext().User, s => s.SchoolId);
        if (!string.IsNullOrEmpty(request.SchoolId))
        {
            query = query.Where(s => s.SchoolId == request.SchoolId);
        }
        if (!request.HasFlaggedOnly || request.FlaggedOnly)
        {
            query = query.Where(s => s.Flagged);
        }
        var total = await query.CountAsync(context.CancellationToken);
        var page = await query.OrderByDescending(s => s.Score).ThenBy(s => s.StudentId).Take(request.Limit == 0 ? 500 : request.Limit)
            .ToListAsync(context.CancellationToken);
        var response = new ListRisksResponse { Total = total };
        response.Risks.AddRange(page.Select(ModelsGrpc.ToMessage));
        return response;
    }

    [Authorize(Policy = Policies.Ops)]
    public override async Task<ListModelsResponse> ListModels(ListModelsRequest request, ServerCallContext context)
    {
        var query = db.Models.AsNoTracking();
        if (!string.IsNullOrEmpty(request.Kind))
        {
            query = query.Where(m => m.Kind == request.Kind);
        }
        var perModel = (await db.DistrictThresholds.AsNoTracking().ToListAsync(context.CancellationToken)).ToLookup(t => t.ModelId);
        var response = new ListModelsResponse();
        response.Models.AddRange((await query.ToListAsync(context.CancellationToken))
            .OrderBy(m => m.Kind).ThenByDescending(m => m.Version).Select(m => ModelsGrpc.ToMessage(m, perModel[m.ModelId])));
        return response;
    }

    [Authorize(Policy = Policies.Ops)]
    public override async Task<ModelVersion> GetModel(GetModelRequest request, ServerCallContext context)
    {
        var id = ModelsGrpc.ParseModelId(request.ModelId);
        var record = await db.Models.AsNoTracking().FirstOrDefaultAsync(m => m.ModelId == id, context.CancellationToken)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"No model '{request.ModelId}'."));
        return ModelsGrpc.ToMessage(record, await db.DistrictThresholds.AsNoTracking().Where(t => t.ModelId == id).ToListAsync(context.CancellationToken));
    }

    [Authorize(Policy = Policies.Ops)]
    public override Task<ModelVersion> TrainModel(TrainModelRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.Kind))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "kind is required ('chronic-absence' or 'dropout')."));
        }
        return ModelsGrpc.Guard(async () => ModelsGrpc.ToMessage(
            await training.TrainAsync(new TrainRequest(request.Kind, request.Source, request.Students, request.Seed, request.Promote, request.SchoolDay),
                context.CancellationToken)));
    }

    [Authorize(Policy = Policies.Ops)]
    public override Task<ModelVersion> PromoteModel(PromoteModelRequest request, ServerCallContext context)
    {
        var id = ModelsGrpc.ParseModelId(request.ModelId);
        return ModelsGrpc.Guard(async () => ModelsGrpc.ToMessage(await registry.PromoteAsync(id, context.CancellationToken)));
    }

    [Authorize(Policy = Policies.Ops)]
    public override Task<Contracts.EarlyWarning.DistrictThreshold> SetDistrictThreshold(SetDistrictThresholdRequest request, ServerCallContext context)
    {
        var id = ModelsGrpc.ParseModelId(request.ModelId);
        return ModelsGrpc.Guard(async () => ModelsGrpc.ToMessage(
            await thresholds.SetAsync(id, request.DistrictId, request.FlagTopShare, request.MinPrecision, context.CancellationToken)));
    }

    [Authorize(Policy = Policies.Ops)]
    public override Task<ModelVersion> RollbackModel(RollbackModelRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.Kind))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "kind is required."));
        }
        return ModelsGrpc.Guard(async () => ModelsGrpc.ToMessage(await registry.RollbackAsync(request.Kind, context.CancellationToken)));
    }

    [Authorize(Policy = Policies.Ops)]
    public override Task<RescoreStudentsResponse> RescoreStudents(RescoreStudentsRequest request, ServerCallContext context)
    {
        var kind = string.IsNullOrEmpty(request.Kind) ? AttendanceFeatures.Kind : request.Kind;
        if (!ScoredKinds.IsScored(kind))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"Early warning scores {ScoredKinds.Named} from the signals it receives; got '{request.Kind}'."));
        }
        return ModelsGrpc.Guard(async () =>
        {
            var report = await rescoring.RescoreAllAsync(clock.GetUtcNow(), context.CancellationToken, kind);
            var active = await db.Models.AsNoTracking().FirstAsync(m => m.Kind == kind && m.Status == ModelStatus.Active, context.CancellationToken);
            return new RescoreStudentsResponse { StudentsScored = report.Students, ModelId = active.ModelId.ToString() };
        });
    }

    [Authorize(Policy = Policies.Ops)]
    public override async Task<Contracts.EarlyWarning.NightlyRescoreStatus> GetNightlyRescore(GetNightlyRescoreRequest request, ServerCallContext context)
    {
        // The job's state is in the database, shared by every replica (whichever ran it).
        var job = (await jobs.ListAsync(context.CancellationToken)).FirstOrDefault(j => j.Job == NightlyRescoreService.Job);
        return new Contracts.EarlyWarning.NightlyRescoreStatus
        {
            Enabled = nightlyOptions.Value.Enabled,
            NightlyAt = nightlyOptions.Value.NightlyAt,
            NextRunAt = nightlyOptions.Value.Enabled ? job?.NextRunAt.ToString("O") ?? nightlyOptions.Value.NextAfter(clock.GetUtcNow(), clock.LocalTimeZone).ToString("O") : "",
            LastRunAt = job?.LastStartedAt?.ToString("O") ?? "",
            Runs = job?.Runs ?? 0,
            LastStudentsScored = job?.LastCount ?? 0,
            LastOutcome = job?.LastOutcome ?? "not run yet",
        };
    }
}
