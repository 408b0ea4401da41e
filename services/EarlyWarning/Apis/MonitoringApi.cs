using System.Security.Claims;
using Beacon.EarlyWarning.Monitoring;
using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels;
using Beacon.RiskModels.Attendance;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;

namespace Beacon.EarlyWarning.Apis;

public sealed record DriftRunRequest(string? Kind, string? AsOf);

public sealed record DriftRunView(Guid RunId, string Kind, int ModelVersion, Guid ModelId, string Reference, DateOnly AsOf, string Trigger, int Students,
    int ReferenceRows, double ScorePsi, string ScoreBand, string WorstBand, bool Alerted, DateTimeOffset RanAt, IReadOnlyList<DriftMeasurement> Measures,
    string? ServedPoints, string? ReferencePoints, bool? SamePoints, string? Note, bool Backfilled, Guid? BackfillId);

/// <summary>The numbers behind reliability.svg: the active version's reliability table over each labelled student's last week.</summary>
public sealed record CalibrationView(string Kind, int? ModelVersion, int Students, double? ExpectedCalibrationError, IReadOnlyList<ReliabilityBin> Bins);

/// <summary>Model monitoring for ops (aggregates only, never names) and the counselor's false-alarm feedback on an alert.</summary>
public static class MonitoringApi
{
    public const string Prefix = "/api/early-warning/v1/monitoring";

    public static IEndpointRouteBuilder MapModelMonitoring(this IEndpointRouteBuilder app)
    {
        var ops = app.MapGroup(Prefix).RequireAuthorization(Policies.Ops).WithTags("Monitoring");
        ops.MapGet("/drift", DriftHistoryAsync);
        ops.MapPost("/drift/run", RunDriftAsync);
        ops.MapPost("/drift/baseline", PinBaselineAsync);
        ops.MapPost("/outcomes", (OutcomesRequest request, Labels labels, CancellationToken ct) =>
            Guard(async () => Results.Ok(new { recorded = await labels.RecordOutcomesAsync(request, ct) })));
        ops.MapGet("/feedback", async (string? kind, EarlyWarningDbContext db, CancellationToken ct) =>
        {
            var alertKind = RiskScoring.AlertKind(Kind(kind));
            var rows = await db.Feedback.AsNoTracking().Where(f => f.AlertKind == alertKind).ToListAsync(ct);
            return Results.Ok(rows.OrderByDescending(f => f.RecordedAt).Select(f => new
            {
                f.AlertId,
                f.ModelVersion,
                f.Verdict,
                f.Reason,
                f.Source,
                f.RecordedAt,
            }));
        });
        ops.MapGet("/report", async (string? kind, MonitoringReport report, CancellationToken ct) => Results.Ok(await report.WeeklyAsync(Kind(kind), ct)));
        ops.MapGet("/fairness", (string? kind, int? version, string? week, MonitoringReport report, CancellationToken ct) =>
            Guard(async () => Results.Ok(await report.FairnessAsync(Kind(kind), version, ParseDate(week, "week"), ct))));
        ops.MapGet("/challenger", async (string? kind, MonitoringReport report, CancellationToken ct) => Results.Ok(await report.ChallengerAsync(Kind(kind), ct)));
        ops.MapPost("/retraining/check", async (string? kind, MonitoringReport report, RetrainingPolicy policy, CancellationToken ct) =>
        {
            var job = await policy.CheckFalsePositiveRateAsync(Kind(kind), await report.WeeklyAsync(Kind(kind), ct), ct);
            return Results.Ok(new { started = job is not null, job });
        });
        ops.MapGet("/calibration", CalibrationAsync);
        ops.MapPost("/backfill", (BackfillRequest? request, MonitoringBackfill backfill, ClaimsPrincipal user, CancellationToken ct) =>
            Guard(async () => Results.Ok(await backfill.RunAsync(request ?? new BackfillRequest(null, null, null), user.UserId() ?? "unknown", "api", ct))))
            .WithName("MonitoringBackfill")
            .WithSummary("Drift runs and weekly score snapshots as of each past school day / week of a range, as if the daily job had run then; days and weeks already held are kept");
        ops.MapGet("/backfills", async (string? kind, EarlyWarningDbContext db, CancellationToken ct) =>
        {
            var query = db.MonitoringBackfills.AsNoTracking();
            if (!string.IsNullOrEmpty(kind))
            {
                query = query.Where(b => b.Kind == kind);
            }
            // The audit of every backfill: who asked, when, through what, over which days, and what it wrote.
            return Results.Ok((await query.ToListAsync(ct)).OrderByDescending(b => b.RequestedAt).Select(MonitoringBackfill.View));
        }).WithName("MonitoringBackfills").WithSummary("Every monitoring backfill, newest first: who asked, when, the days and weeks it wrote or kept");
        ops.MapGet("/charts/{chart}", (string chart, string? kind, string? reference, MonitoringCharts charts, CancellationToken ct) =>
            Guard(async () => Results.Text(await charts.SvgAsync(chart, Kind(kind), ct, reference), "image/svg+xml")));

        // Counselors (staff), not ops: they judge alerts of their own schools; another school's alert is a 404, as if absent.
        app.MapPost("/api/early-warning/v1/alerts/{alertId:guid}/feedback", (Guid alertId, FeedbackRequest request, Labels labels, ClaimsPrincipal user, CancellationToken ct) =>
            Guard(async () => await labels.RecordFeedbackAsync(alertId, request, user.UserId(), user.CanSeeSchool, ct) is { } feedback
                ? Results.Ok(feedback)
                : Results.Problem(statusCode: StatusCodes.Status404NotFound, title: $"No alert '{alertId}'.")))
            .RequireAuthorization(Policies.Staff).WithTags("Alerts").WithName("AlertFeedback")
            .WithSummary("A counselor's verdict on an alert; the giver is the token's subject (givenBy in the body is ignored)");
        return app;
    }

    private static string Kind(string? kind) => string.IsNullOrEmpty(kind) ? AttendanceFeatures.Kind : kind;

    /// <summary>The same students as the reliability chart (so the dashboard's table matches it): each labelled student's last week scored before the outcome was known.</summary>
    private static async Task<IResult> CalibrationAsync(string? kind, EarlyWarningDbContext db, CancellationToken ct)
    {
        var k = Kind(kind);
        var version = await db.Models.AsNoTracking().Where(m => m.Kind == k && m.Status == ModelStatus.Active).Select(m => (int?)m.Version).FirstOrDefaultAsync(ct);
        var labels = await db.Outcomes.AsNoTracking().Where(o => o.Kind == k).ToDictionaryAsync(o => o.StudentId, ct);
        var latest = (await db.ScoreSnapshots.AsNoTracking().Where(s => s.Kind == k && s.ModelVersion == version).ToListAsync(ct))
            .Where(s => labels.TryGetValue(s.StudentId, out var l) && s.WeekStart < l.KnownOn)
            .GroupBy(s => s.StudentId).Select(g => g.MaxBy(s => s.WeekStart)!).ToArray();
        var scores = latest.Select(s => s.Score).ToArray();
        var truth = latest.Select(s => labels[s.StudentId].AtRisk).ToArray();
        return Results.Ok(latest.Length == 0
            ? new CalibrationView(k, version, 0, null, [])
            : new CalibrationView(k, version, latest.Length, Evaluation.ExpectedCalibrationError(scores, truth), Evaluation.ReliabilityTable(scores, truth)));
    }

    private static async Task<IResult> DriftHistoryAsync(string? kind, string? reference, EarlyWarningDbContext db, CancellationToken ct)
    {
        var k = Kind(kind);
        var query = db.DriftRuns.AsNoTracking().Where(r => r.Kind == k);
        if (!string.IsNullOrEmpty(reference))
        {
            query = query.Where(r => r.Reference == reference);
        }
        var runs = await query.ToListAsync(ct);
        return Results.Ok(await ViewsAsync(db, runs.OrderBy(r => r.AsOf).ThenBy(r => r.RanAt).ToList(), ct));
    }

    private static Task<IResult> RunDriftAsync(DriftRunRequest? request, DriftMonitor monitor, TimeProvider clock, EarlyWarningDbContext db, CancellationToken ct) =>
        Guard(async () =>
        {
            var asOf = ParseDate(request?.AsOf, "asOf") ?? DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
            var runs = await monitor.RunAsync(Kind(request?.Kind), asOf, "on-demand", ct);
            return Results.Ok(await ViewsAsync(db, runs.ToList(), ct));
        });

    private static Task<IResult> PinBaselineAsync(DriftRunRequest? request, DriftMonitor monitor, TimeProvider clock, CancellationToken ct) =>
        Guard(async () =>
        {
            var asOf = ParseDate(request?.AsOf, "asOf") ?? DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
            var baseline = await monitor.PinBaselineAsync(Kind(request?.Kind), asOf, ct);
            return Results.Ok(new { baseline.ModelId, baseline.AsOf, baseline.Students, baseline.PinnedAt });
        });

    private static async Task<List<DriftRunView>> ViewsAsync(EarlyWarningDbContext db, List<DriftRun> runs, CancellationToken ct)
    {
        var ids = runs.Select(r => r.RunId).ToList();
        var measures = (await db.DriftMeasurements.AsNoTracking().Where(m => ids.Contains(m.RunId)).ToListAsync(ct)).ToLookup(m => m.RunId);
        return runs.Select(r => new DriftRunView(r.RunId, r.Kind, r.ModelVersion, r.ModelId, r.Reference, r.AsOf, r.Trigger, r.Students, r.ReferenceRows,
            r.ScorePsi, r.ScoreBand, r.WorstBand, r.Alerted, r.RanAt, measures[r.RunId].OrderByDescending(m => m.Psi).ToList(),
            r.ServedPoints, r.ReferencePoints, r.SamePoints, r.Note, r.Backfilled, r.BackfillId)).ToList();
    }

    private static DateOnly? ParseDate(string? value, string field) =>
        string.IsNullOrEmpty(value) ? null
        : DateOnly.TryParseExact(value, "yyyy-MM-dd", out var day) ? day
        : throw new MonitoringValidationException(new Dictionary<string, string[]> { [field] = [$"A date yyyy-MM-dd; got '{value}'."] });

    /// <summary>Refusals become 400/404/409 problem details with the reason, never a 500.</summary>
    private static async Task<IResult> Guard(Func<Task<IResult>> action)
    {
        try
        {
            return await action();
        }
        catch (MonitoringValidationException e)
        {
            return Results.ValidationProblem(e.Errors);
        }
        catch (ModelRegistryException e)
        {
            return Results.Problem(statusCode: e.NotFound ? StatusCodes.Status404NotFound : StatusCodes.Status409Conflict, title: e.Message);
        }
    }
}
