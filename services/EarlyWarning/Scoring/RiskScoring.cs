using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Storage;
using Beacon.Messaging;
using Beacon.RiskModels;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Dropout;
using Beacon.RiskModels.History;
using Beacon.ServiceDefaults;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.EarlyWarning.Scoring;

/// <summary>One student's school days, to be scored.</summary>
public sealed record StudentDays(string StudentId, string SchoolId, IReadOnlyList<SchoolDay> Days, PriorYearAttendance? PriorYear = null);

public static class RiskBands
{
    public const string Low = "low";
    public const string Elevated = "elevated";
    public const string High = "high";

    public static string For(double score, double threshold) => score >= threshold ? High : score >= threshold / 2 ? Elevated : Low;

    /// <summary>
    /// Flagged at or above the threshold; once flagged, stays flagged until the score falls below
    /// threshold × <paramref name="hysteresisRatio"/>, so a score hovering at the line does not alert daily.
    /// </summary>
    public static bool IsFlagged(bool wasFlagged, double score, double threshold, double hysteresisRatio) =>
        score >= threshold || (wasFlagged && score >= threshold * hysteresisRatio);
}

/// <summary>
/// Scores one student with the active model of a kind, inside the caller's unit of work: the score,
/// the score change and (on a crossing) RiskAlertRaised are saved with the signal that caused them. The students'
/// scores are locked (<see cref="ScoreLocks"/>) before they are read, until the caller's save commits, so two units of
/// work scoring one student decide one after the other, each on what it overwrites. The
/// unit of work's score changes go out as one <see cref="RiskScoresChanged"/>: call
/// <see cref="PublishScoreChanges"/> before saving.
/// </summary>
public sealed class RiskScoring(EarlyWarningDbContext db, LoadedModels models, IOptions<ModelOptions> options, DistrictThresholds thresholds, StudentSignalsReader signals,
    SchoolCapacity capacity, SignalArrivals arrivals)
{
    /// <summary>Score changes per event, as for the attendance batches they come from.</summary>
    public const int ScoreChangesPerEvent = 500;

    private readonly List<RiskScoreChanged> _changes = [];

    /// <summary>Alerts from a model carry their own kind, so the indicator's alerts are untouched.</summary>
    public static string AlertKind(string modelKind) => $"{modelKind}-model";

    /// <summary>
    /// Prepares scoring for one batch of attendance records: the active model and threshold are read once,
    /// and the students' current scores loaded in one query. Null when no model is promoted (the indicator
    /// alone speaks). The caller scores after every changed record, in order, so the hysteresis sees the same
    /// sequence of scores however the records were batched (a replay equals the live run).
    /// </summary>
    public async Task<Func<StudentDays, Task>?> PrepareAttendanceScoringAsync(IReadOnlyCollection<string> studentIds, DateTimeOffset now, CancellationToken ct)
    {
        var active = await ActiveAsync(AttendanceFeatures.Kind, ct);
        if (active is null)
        {
            return null;
        }
        var threshold = await thresholds.ForAsync(active, ct);
        await db.LockScoresAsync(active.Kind, studentIds, ct);
        // Loaded into the change tracker, where ScoreAsync's FindAsync finds them without a query each.
        var week = WeekStart(now);
        await db.RiskScores.Where(s => s.Kind == active.Kind && studentIds.Contains(s.StudentId)).LoadAsync(ct);
        await db.ScoreSnapshots.Where(s => s.Kind == active.Kind && s.WeekStart == week && studentIds.Contains(s.StudentId)).LoadAsync(ct);
        var lines = capacity.Lines(active.Kind, ct);
        var model = models.Get(active);
        return student =>
        {
            var features = ScoredKinds.Features(AttendanceFeatures.Kind, StudentSignals.None with { Days = student.Days, PriorYear = student.PriorYear }, null, now, model.Features);
            return ScoreAsync(active, model.ThresholdFor(features, threshold), lines, student.StudentId, student.SchoolId, model.Predict(features), now, ct);
        };
    }

    /// <summary>
    /// Scores students with the active dropout model from every signal Early warning holds about them (as of
    /// each student's latest signal), in the caller's unit of work; nothing when no dropout model is promoted.
    /// Called once per student per unit of work, after the signal that changed them is applied.
    /// </summary>
    /// <param name="days">The caller's current school days of these students, when it holds them.</param>
    public async Task ScoreDropoutAsync(IReadOnlyCollection<string> studentIds, DateTimeOffset now, CancellationToken ct,
        IReadOnlyDictionary<string, Dictionary<DateOnly, string>>? days = null)
    {
        var active = await ActiveAsync(K12DropoutFeatures.Kind, ct);
        if (active is null || studentIds.Count == 0)
        {
            return;
        }
        var threshold = await thresholds.ForAsync(active, ct);
        // Before the signals are read too: a scoring that waited reads the signals the other unit of work committed.
        await db.LockScoresAsync(active.Kind, studentIds, ct);
        var rows = await signals.LoadAsync(K12DropoutFeatures.Kind, studentIds, days, ct);
        var ids = rows.Select(r => r.StudentId).ToArray();
        // Each student is scored once here, so the scores are decided on the stored ones and written as one upsert (and their
        // week's snapshots as one copy) in the unit of work's transaction, not tracked and saved a row at a time: under a
        // mixed load this runs for a thousand students a second, and saving their rows was a quarter of Early warning's time
        // (bench/RESULTS.md, the twenty-first session).
        var stored = await db.RiskScores.AsNoTracking().Where(s => s.Kind == active.Kind && EF.Parameter(ids).Contains(s.StudentId)).ToDictionaryAsync(s => s.StudentId, ct);
        var lines = capacity.Lines(active.Kind, ct);
        var model = models.Get(active);
        var scores = new List<StudentRiskScore>(rows.Count);
        foreach (var row in rows)
        {
            var features = ScoredKinds.Features(active.Kind, row.Signals, null, now, model.Features);
            var prediction = model.Predict(features);
            var studentThreshold = model.ThresholdFor(features, threshold);
            var line = await lines(row.SchoolId);
            var before = stored.GetValueOrDefault(row.StudentId);
            var decision = ScoreDecision.Of(StoredScore.Of(before),
                row.StudentId, prediction.Probability, studentThreshold, options.Value.HysteresisRatio, line, active.ModelId);
            if (decision.Raises)
            {
                db.Raise(arrivals.Stamp(NewAlert(active, row.StudentId, row.SchoolId, decision.Crossings, prediction, now)));
            }
            scores.Add(NewScore(active, row.StudentId, row.SchoolId, prediction.Probability, decision, studentThreshold, line, JsonSerializer.Serialize(prediction.TopFactors), now));
            if (decision.News)
            {
                _changes.Add(new RiskScoreChanged(row.StudentId, row.SchoolId, active.Kind, prediction.Probability, decision.Band, decision.Flagged, active.ModelId,
                    active.Version, prediction.TopFactors.Select(Phrase).ToArray(), now));
            }
        }
        await db.InsertOrUpdateAsync(scores, ct);
        await db.CopyFromScoresAsync(active.Kind, WeekStart(now), ids, ct);
    }

    /// <summary>The active version of a kind, or null when none is promoted.</summary>
    public Task<ModelVersionRecord?> ActiveAsync(string kind, CancellationToken ct) =>
        db.Models.AsNoTracking().FirstOrDefaultAsync(m => m.Kind == kind && m.Status == ModelStatus.Active, ct);

    private async Task ScoreAsync(ModelVersionRecord active, double threshold, Func<string, Task<CapacityLine?>> capacityLines, string studentId, string schoolId,
        RiskPrediction prediction, DateTimeOffset now, CancellationToken ct)
    {
        var kind = active.Kind;
        var score = await db.RiskScores.FindAsync([studentId, kind], ct);
        var stored = StoredScore.Of(score);
        score ??= db.RiskScores.Add(new StudentRiskScore { StudentId = studentId, Kind = kind, SchoolId = schoolId, Band = RiskBands.Low, FactorsJson = "[]" }).Entity;

        var line = await capacityLines(schoolId);
        var (flagged, band, raises, crossings, news) = ScoreDecision.Of(stored, studentId, prediction.Probability, threshold, options.Value.HysteresisRatio, line, active.ModelId);
        if (raises)
        {
            db.Raise(arrivals.Stamp(NewAlert(active, studentId, schoolId, crossings, prediction, now)));
        }
        score.Crossings = crossings;
        score.SchoolId = schoolId;
        score.Score = prediction.Probability;
        score.Band = band;
        score.Flagged = flagged;
        score.ModelId = active.ModelId;
        score.ModelVersion = active.Version;
        score.Threshold = threshold;
        score.CapacityLine = line?.Score;
        score.FactorsJson = JsonSerializer.Serialize(prediction.TopFactors);
        score.ScoredAt = now;
        await SnapshotAsync(score, ct);
        if (news)
        {
            _changes.Add(new RiskScoreChanged(studentId, schoolId, kind, prediction.Probability, band, flagged, active.ModelId, active.Version,
                prediction.TopFactors.Select(Phrase).ToArray(), now));
        }
    }

    /// <summary>The score row a decision writes (the live dropout scoring's and the batch re-score's).</summary>
    public static StudentRiskScore NewScore(ModelVersionRecord active, string studentId, string schoolId, double probability, ScoreDecision decision, double threshold,
        CapacityLine? line, string factorsJson, DateTimeOffset now) => new()
        {
            StudentId = studentId,
            Kind = active.Kind,
            SchoolId = schoolId,
            Score = probability,
            Band = decision.Band,
            Flagged = decision.Flagged,
            Crossings = decision.Crossings,
            ModelId = active.ModelId,
            ModelVersion = active.Version,
            Threshold = threshold,
            CapacityLine = line?.Score,
            FactorsJson = factorsJson,
            ScoredAt = now,
        };

    /// <summary>The alert of a new crossing, its reason the model's explanation of the score.</summary>
    public static RiskAlert NewAlert(ModelVersionRecord active, string studentId, string schoolId, int crossing, RiskPrediction prediction, DateTimeOffset now) => new()
    {
        AlertId = NewId.NextGuid(),
        StudentId = studentId,
        SchoolId = schoolId,
        Kind = AlertKind(active.Kind),
        Crossing = crossing,
        Reason = Explain(prediction, active),
        Score = prediction.Probability,
        RaisedAt = now,
        ModelId = active.ModelId,
        ModelVersion = active.Version,
    };

    /// <summary>Puts the score changes made so far in the outbox, in order, and forgets them; the caller saves.</summary>
    public void PublishScoreChanges()
    {
        foreach (var records in _changes.Chunk(ScoreChangesPerEvent))
        {
            db.Publish(new RiskScoresChanged(records));
        }
        _changes.Clear();
    }

    /// <summary>Keeps the week's last score, so the monitoring report can judge each week against outcomes that arrive later.</summary>
    private async Task SnapshotAsync(StudentRiskScore score, CancellationToken ct)
    {
        var week = WeekStart(score.ScoredAt);
        var snapshot = await db.ScoreSnapshots.FindAsync([score.StudentId, score.Kind, week], ct);
        snapshot ??= db.ScoreSnapshots.Add(new ScoreSnapshot { StudentId = score.StudentId, Kind = score.Kind, WeekStart = week, SchoolId = score.SchoolId }).Entity;
        snapshot.SchoolId = score.SchoolId;
        snapshot.ModelId = score.ModelId;
        snapshot.ModelVersion = score.ModelVersion;
        snapshot.Score = score.Score;
        snapshot.Flagged = score.Flagged;
        snapshot.Threshold = score.Threshold;
        snapshot.ScoredAt = score.ScoredAt;
    }

    /// <summary>The Monday of the (UTC) week.</summary>
    public static DateOnly WeekStart(DateTimeOffset at)
    {
        var day = DateOnly.FromDateTime(at.UtcDateTime);
        return day.AddDays(-(((int)day.DayOfWeek + 6) % 7));
    }

    public static string Phrase(RiskFactor factor) => $"{factor.Text} ({(factor.RaisesRisk ? "raises" : "lowers")} risk)";

    public static string Explain(RiskPrediction prediction, ModelVersionRecord model) =>
        Explain(prediction.Probability, prediction.TopFactors, model.Kind, model.Version);

    public static string Explain(double probability, IReadOnlyList<RiskFactor> factors, string kind, int version)
    {
        var up = factors.Where(f => f.RaisesRisk).Select(f => f.Text).ToArray();
        var down = factors.Where(f => !f.RaisesRisk).Select(f => f.Text).ToArray();
        var sentence = $"Estimated {probability:P0} risk of {kind.Replace('-', ' ')} (model v{version}).";
        if (up.Length > 0)
        {
            sentence += $" Raising it: {string.Join("; ", up)}.";
        }
        if (down.Length > 0)
        {
            sentence += $" Lowering it: {string.Join("; ", down)}.";
        }
        return sentence;
    }
}
