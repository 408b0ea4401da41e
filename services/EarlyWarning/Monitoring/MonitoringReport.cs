using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels;
using Beacon.RiskModels.Monitoring;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.EarlyWarning.Monitoring;

/// <summary>One model version's week: alerts, what came of them, and the realised and expected figures of that week's scores.</summary>
public sealed record WeeklyFigures(
    string Kind,
    int ModelVersion,
    DateOnly WeekStart,
    int AlertsRaised,
    int AlertsConfirmed,
    int AlertsFalseByOutcome,
    int AlertsFalseByCounselor,
    int Students,
    int Flagged,
    int Labelled,
    int Positives,
    double? RealisedFalsePositiveRate,
    double? RealisedPrecision,
    double? PrecisionAtTopK,
    double? Recall,
    double? ExpectedCalibrationError,
    double ExpectedPrecision,
    double ExpectedFalsePositiveRate,
    double ExpectedRecall,
    bool Backfilled = false);

public sealed record FairnessView(string Kind, int? ModelVersion, DateOnly? WeekStart, FairnessReport Report);

/// <summary>The champion (active) and the newest candidate after it, with their held-out figures side by side.</summary>
public sealed record ChallengerView(ModelSummary? Champion, ModelSummary? Challenger, IReadOnlyList<RetrainingJob> Jobs, string Policy);

public sealed record ModelSummary(Guid ModelId, int Version, string Status, DateTimeOffset TrainedAt, string DataSource, BinaryReport HeldOut);

/// <summary>The weekly report (per model version and week), the subgroup figures and the challenger comparison.</summary>
public sealed class MonitoringReport(EarlyWarningDbContext db, IOptions<MonitoringOptions> options)
{
    public async Task<IReadOnlyList<WeeklyFigures>> WeeklyAsync(string kind, CancellationToken ct)
    {
        var snapshots = await db.ScoreSnapshots.AsNoTracking().Where(s => s.Kind == kind).ToListAsync(ct);
        var labels = await LabelsAsync(kind, ct);
        var alertKind = RiskScoring.AlertKind(kind);
        var alerts = await db.Alerts.AsNoTracking().Where(a => a.Kind == alertKind && a.ModelVersion != null).ToListAsync(ct);
        var falseAlarms = (await db.Feedback.AsNoTracking().Where(f => f.AlertKind == alertKind).Select(f => f.AlertId).ToListAsync(ct)).ToHashSet();
        var alertsByWeek = alerts.ToLookup(a => (a.ModelVersion!.Value, RiskScoring.WeekStart(a.RaisedAt)));
        return snapshots.GroupBy(s => (s.ModelVersion, s.WeekStart)).OrderBy(g => g.Key.ModelVersion).ThenBy(g => g.Key.WeekStart).Select(g =>
        {
            var figures = PerformanceFigures.Compute(g.Select(s => Scored(s, labels)).ToArray(), options.Value.TopShare);
            var raised = alertsByWeek[g.Key].ToArray();
            bool? Truth(RiskAlert a) => labels.TryGetValue(a.StudentId, out var l) && DateOnly.FromDateTime(a.RaisedAt.UtcDateTime) < l.KnownOn ? l.AtRisk : null;
            return new WeeklyFigures(kind, g.Key.ModelVersion, g.Key.WeekStart, raised.Length, raised.Count(a => Truth(a) == true), raised.Count(a => Truth(a) == false),
                raised.Count(a => falseAlarms.Contains(a.AlertId)), figures.Students, figures.Flagged, figures.Labelled, figures.Positives,
                figures.FalsePositiveRate, figures.Precision, figures.PrecisionAtTopK, figures.Recall, figures.ExpectedCalibrationError,
                figures.ExpectedPrecision, figures.ExpectedFalsePositiveRate, figures.ExpectedRecall,
                // A week scored after the fact by a monitoring backfill (every snapshot of it), not live.
                g.All(s => s.Backfilled));
        }).ToList();
    }

    /// <summary>Subgroup figures for one week's scores (default: the active version's latest week).</summary>
    public async Task<FairnessView> FairnessAsync(string kind, int? version, DateOnly? week, CancellationToken ct)
    {
        version ??= await db.Models.AsNoTracking().Where(m => m.Kind == kind && m.Status == ModelStatus.Active).Select(m => (int?)m.Version).FirstOrDefaultAsync(ct);
        week ??= await db.ScoreSnapshots.AsNoTracking().Where(s => s.Kind == kind && s.ModelVersion == version)
            .MaxAsync(s => (DateOnly?)s.WeekStart, ct);
        var snapshots = await db.ScoreSnapshots.AsNoTracking().Where(s => s.Kind == kind && s.ModelVersion == version && s.WeekStart == week).ToListAsync(ct);
        var labels = await LabelsAsync(kind, ct);
        var ids = snapshots.Select(s => s.StudentId).ToList();
        var demographics = await db.Demographics.AsNoTracking().Where(d => ids.Contains(d.StudentId)).ToDictionaryAsync(d => d.StudentId, ct);
        var attributes = snapshots.Select(s => Attributes(demographics.GetValueOrDefault(s.StudentId))).ToArray();
        return new FairnessView(kind, version, week, FairnessReport.Compute(snapshots.Select(s => Scored(s, labels)).ToArray(), attributes,
            options.Value.MinimumGroupSize, options.Value.TopShare));
    }

    public async Task<ChallengerView> ChallengerAsync(string kind, CancellationToken ct)
    {
        var models = await db.Models.AsNoTracking().Where(m => m.Kind == kind).ToListAsync(ct);
        var champion = models.SingleOrDefault(m => m.Status == ModelStatus.Active);
        var challenger = models.Where(m => m.Status == ModelStatus.Candidate && (champion is null || m.Version > champion.Version))
            .MaxBy(m => m.Version);
        var jobs = await db.RetrainingJobs.AsNoTracking().Where(j => j.Kind == kind).ToListAsync(ct);
        return new ChallengerView(Summary(champion), Summary(challenger), jobs.OrderByDescending(j => j.StartedAt).ToArray(),
            RetrainingPolicy.Describe(options.Value));
    }

    private static ModelSummary? Summary(ModelVersionRecord? m)
    {
        if (m is null)
        {
            return null;
        }
        var card = RiskModelFile.DeserializeCard(m.CardJson);
        return new ModelSummary(m.ModelId, m.Version, m.Status, m.TrainedAt, m.DataSource, card.Reports.First(r => r.Name == card.Algorithm));
    }

    private async Task<Dictionary<string, OutcomeLabel>> LabelsAsync(string kind, CancellationToken ct) =>
        await db.Outcomes.AsNoTracking().Where(o => o.Kind == kind).ToDictionaryAsync(o => o.StudentId, ct);

    /// <summary>A week's score is judged against an outcome known after that week began, never one that was already known.</summary>
    private static ScoredStudent Scored(ScoreSnapshot s, Dictionary<string, OutcomeLabel> labels) =>
        new(s.Score, s.Flagged, labels.TryGetValue(s.StudentId, out var l) && s.WeekStart < l.KnownOn ? l.AtRisk : null);

    public static IReadOnlyDictionary<string, string?> Attributes(StudentDemographics? d) => new Dictionary<string, string?>
    {
        ["sex"] = d?.Sex,
        ["race-ethnicity"] = d?.RaceEthnicity,
        ["economically-disadvantaged"] = YesNo(d?.EconomicallyDisadvantaged),
        ["english-learner"] = YesNo(d?.EnglishLearner),
        ["disability"] = YesNo(d?.Disability),
    };

    private static string? YesNo(bool? value) => value switch
    {
        true => "yes",
        false => "no",
        null => null,
    };
}
