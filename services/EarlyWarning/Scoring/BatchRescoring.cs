using System.Data.Common;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Storage;
using Beacon.Messaging;
using Beacon.RiskModels;
using Beacon.RiskModels.Attendance;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.EarlyWarning.Scoring;

/// <summary>What a rescore did, and where its time went (read: ids, signals and features, on a reader of its own that overlaps
/// the rest, and the stored scores; predict: scores and explanations on every core; write: the bulk upserts, alerts and
/// outbox rows, and the commit, broken down in <see cref="WriteParts"/>). The phases overlap, so they add up to more than the total.</summary>
public sealed record RescoreReport(int Students, int Flagged, int AlertsRaised, int Changes, int Passes, TimeSpan Read, TimeSpan Predict, TimeSpan Write,
    TimeSpan Total, WriteParts Parts);

/// <summary>
/// The write phase by step, inside the chunks' transactions: deciding each student and making the rows, the scores' upsert,
/// the week's snapshots, the alerts with their events and the RiskScoresChanged in the outbox, the commit.
/// </summary>
public sealed record WriteParts(TimeSpan Decide, TimeSpan Scores, TimeSpan Snapshots, TimeSpan AlertsAndOutbox, TimeSpan Commit);

/// <summary>
/// Re-scores every student the active model of a kind can score (POST models/rescore, the nightly job), a chunk of
/// students at a time: their ids a page at a time, their signals read without tracking (the next chunk while this one is
/// scored and written), features, scores and top factors computed on every core (pooled engines; every student is explained, in parallel: a stored explanation and
/// a RiskScoreChanged always describe the score beside them), then, in one transaction per chunk and while the next chunk
/// is predicted, one bulk upsert of the scores, the week's snapshots copied from them, and the chunk's alerts, their
/// RiskAlertRaised and its RiskScoresChanged written in bulk to the outbox (no change tracker). The decision per student
/// (<see cref="ScoreDecision"/>) is the per-signal path's, so a rescore is idempotent: a second run raises no alert and
/// publishes no change. Only when some school has a capacity (<see cref="SchoolCapacity"/>) does it predict everyone
/// first, without explanations, to draw each capped school's line from the new scores (two passes); otherwise one pass,
/// and no more than two chunks' predictions are ever held (one being written, one predicted).
/// </summary>
public sealed class BatchRescoring(EarlyWarningDbContext db, LoadedModels models, IOptions<ModelOptions> options, DistrictThresholds thresholds,
    IServiceScopeFactory scopes, SchoolCapacity capacity, ILogger<BatchRescoring> logger)
{
    /// <summary>Students per chunk: large enough that a round trip and a parallel loop are worth it, small enough to hold.</summary>
    public const int DefaultChunkSize = 2000;

    /// <summary>Time spent per phase; the reader adds to it from its own thread.</summary>
    private sealed class Timing
    {
        private long _read, _predict, _write;
        private readonly long[] _parts = new long[5];

        public TimeSpan Read => TimeSpan.FromTicks(Interlocked.Read(ref _read));
        public TimeSpan Predict => TimeSpan.FromTicks(Interlocked.Read(ref _predict));
        public TimeSpan Write => TimeSpan.FromTicks(Interlocked.Read(ref _write));
        public WriteParts Parts => new(Part(0), Part(1), Part(2), Part(3), Part(4));

        public void AddRead(TimeSpan time) => Interlocked.Add(ref _read, time.Ticks);
        public void AddPredict(TimeSpan time) => Interlocked.Add(ref _predict, time.Ticks);
        public void AddWrite(TimeSpan time) => Interlocked.Add(ref _write, time.Ticks);

        /// <summary>Adds the time since the last step of the write phase to step <paramref name="part"/> (WriteParts' order).</summary>
        public void AddPart(int part, Stopwatch step)
        {
            _parts[part] += step.Elapsed.Ticks;
            step.Restart();
        }

        private TimeSpan Part(int part) => TimeSpan.FromTicks(_parts[part]);
    }

    public async Task<RescoreReport> RescoreAllAsync(DateTimeOffset now, CancellationToken ct, string kind = AttendanceFeatures.Kind, int chunkSize = DefaultChunkSize)
    {
        var total = Stopwatch.StartNew();
        var active = await db.Models.AsNoTracking().FirstOrDefaultAsync(m => m.Kind == kind && m.Status == ModelStatus.Active, ct)
            ?? throw new ModelRegistryException($"No active '{kind}' model to score with.");
        var threshold = await thresholds.ForAsync(active, ct);
        var model = models.Get(active);
        var timing = new Timing();
        IReadOnlyDictionary<string, CapacityLine?> lines = new Dictionary<string, CapacityLine?>();
        var passes = 1;
        if (capacity.AnyShare)
        {
            // Pass one: each capped school's line from the new model's scores of all its students (only theirs are kept).
            var capped = new List<(string SchoolId, string StudentId, double Score)>();
            await foreach (var (rows, features) in ChunksAsync(kind, model, chunkSize, now, timing, ct))
            {
                var watch = Stopwatch.StartNew();
                var probabilities = model.Probabilities(features);
                timing.AddPredict(watch.Elapsed);
                for (var i = 0; i < rows.Count; i++)
                {
                    if (capacity.ShareOf(rows[i].SchoolId) is not null)
                    {
                        capped.Add((rows[i].SchoolId, rows[i].StudentId, probabilities[i]));
                    }
                }
            }
            lines = capacity.Draw(kind, capped);
            passes = 2;
        }

        int students = 0, flagged = 0, raised = 0, changes = 0;
        void Count((int Students, int Flagged, int Raised, int Changes) chunk)
        {
            students += chunk.Students;
            flagged += chunk.Flagged;
            raised += chunk.Raised;
            changes += chunk.Changes;
        }
        // The next chunk is predicted (on every core) while this one is written (one thread, mostly the database's): the
        // writes stay one chunk at a time and in order, each committed before the next begins.
        Task<(int, int, int, int)>? writing = null;
        try
        {
            await foreach (var (rows, features) in ChunksAsync(kind, model, chunkSize, now, timing, ct))
            {
                var watch = Stopwatch.StartNew();
                var predictions = model.Predict(features);
                // Each student's line: early in the year a model trained across it flags at its early line (RiskModel.ThresholdFor).
                var chunkThresholds = features.Select(f => model.ThresholdFor(f, threshold)).ToArray();
                timing.AddPredict(watch.Elapsed);
                if (writing is not null)
                {
                    Count(await writing);
                }
                // SQLite's commands run synchronously, so the write gets a thread of its own to overlap anything.
                writing = Task.Run(async () =>
                {
                    var (chunkFlagged, chunkRaised, chunkChanges) = await WriteAsync(active, chunkThresholds, rows, predictions, lines, now, timing, ct);
                    return (rows.Count, chunkFlagged, chunkRaised, chunkChanges);
                }, ct);
            }
            if (writing is not null)
            {
                Count(await writing);
            }
        }
        finally
        {
            // A failed read or prediction still lets the chunk being written finish (or fail) before the context goes.
            if (writing is not null)
            {
                await ((Task)writing).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
        var report = new RescoreReport(students, flagged, raised, changes, passes, timing.Read, timing.Predict, timing.Write, total.Elapsed, timing.Parts);
        logger.LogInformation("Re-scored {Students} students with {Kind} v{Version} in {Seconds:F1} s ({Passes} pass(es); read {Read:F1} s, "
            + "predict {Predict:F1} s, write {Write:F1} s): {Flagged} flagged, {Raised} alerts raised, {Changes} changes published",
            students, kind, active.Version, report.Total.TotalSeconds, passes, report.Read.TotalSeconds, report.Predict.TotalSeconds, report.Write.TotalSeconds,
            flagged, raised, changes);
        return report;
    }

    /// <summary>
    /// Every scorable student, a chunk at a time: their signals (untracked) and their features, computed on every core. The
    /// next chunk is read (on a connection of its own) while the caller predicts and writes this one; at most two are held.
    /// </summary>
    private async IAsyncEnumerable<(IReadOnlyList<StudentSignalsRow> Rows, float[][] Features)> ChunksAsync(string kind, RiskModel model, int chunkSize,
        DateTimeOffset now, Timing timing, [EnumeratorCancellation] CancellationToken ct)
    {
        var chunks = Channel.CreateBounded<(IReadOnlyList<StudentSignalsRow>, float[][])>(1);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var reader = Task.Run(async () =>
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var signals = scope.ServiceProvider.GetRequiredService<StudentSignalsReader>();
                string? after = null;
                while (true)
                {
                    var watch = Stopwatch.StartNew();
                    var ids = await signals.StudentIdsAfterAsync(kind, after, chunkSize, stop.Token);
                    if (ids.Count == 0)
                    {
                        break;
                    }
                    after = ids[^1];
                    var rows = await signals.LoadAsync(kind, ids, null, stop.Token);
                    var features = new float[rows.Count][];
                    Parallel.For(0, rows.Count, i => features[i] = ScoredKinds.Features(kind, rows[i].Signals, null, now, model.Features));
                    timing.AddRead(watch.Elapsed);
                    await chunks.Writer.WriteAsync((rows, features), stop.Token);
                }
                chunks.Writer.Complete();
            }
            catch (Exception e)
            {
                chunks.Writer.Complete(e);
            }
        }, CancellationToken.None);
        try
        {
            await foreach (var chunk in chunks.Reader.ReadAllAsync(ct))
            {
                yield return chunk;
            }
        }
        finally
        {
            await stop.CancelAsync();
            await reader;
        }
    }

    /// <summary>
    /// Whether a student's stored score already says all the new one says (every column but the time) and was written this week:
    /// then neither it nor the week's snapshot (written with it, from the same values) is rewritten, and the steady nightly
    /// re-score is reads and predictions. A score is still rewritten once a week, so its ScoredAt (retention's "not refreshed
    /// since") stays within a week of the latest scoring.
    /// </summary>
    private static bool Unchanged(StudentRiskScore? stored, StudentRiskScore score, DateOnly week) =>
        stored is not null && RiskScoring.WeekStart(stored.ScoredAt) == week && stored.ScoredAt <= score.ScoredAt
        && stored.SchoolId == score.SchoolId && stored.Score.Equals(score.Score) && stored.Band == score.Band && stored.Flagged == score.Flagged
        && stored.Crossings == score.Crossings && stored.ModelId == score.ModelId && stored.ModelVersion == score.ModelVersion
        && stored.Threshold.Equals(score.Threshold) && Nullable.Equals(stored.CapacityLine, score.CapacityLine) && stored.FactorsJson == score.FactorsJson;

    /// <summary>Decides and writes one chunk in one transaction; returns how many are flagged, alerts raised and changes published.</summary>
    private async Task<(int Flagged, int Raised, int Changes)> WriteAsync(ModelVersionRecord active, IReadOnlyList<double> thresholds, IReadOnlyList<StudentSignalsRow> rows,
        RiskPrediction[] predictions, IReadOnlyDictionary<string, CapacityLine?> lines, DateTimeOffset now, Timing timing, CancellationToken ct)
    {
        var ids = rows.Select(r => r.StudentId).ToList();
        var week = RiskScoring.WeekStart(now);
        // What depends on the prediction alone is made on every core before the transaction, so the write lock (SQLite) is
        // held for the decisions and the statements only.
        var factorsJson = new string[rows.Count];
        var phrases = new string[rows.Count][];
        Parallel.For(0, rows.Count, i =>
        {
            factorsJson[i] = JsonSerializer.Serialize(predictions[i].TopFactors);
            phrases[i] = [.. predictions[i].TopFactors.Select(RiskScoring.Phrase)];
        });
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                // Read inside the transaction (on SQLite it holds the write lock), so the decision is made on what is overwritten.
                await using var transaction = await db.Database.BeginTransactionAsync(ct);
                // On PostgreSQL the read takes no lock: a signal consumer scoring one of these students waits (ScoreLocks) instead.
                await db.LockScoresAsync(active.Kind, ids, ct);
                var watch = Stopwatch.StartNew();
                var stored = await db.RiskScores.AsNoTracking().Where(s => s.Kind == active.Kind && EF.Parameter(ids).Contains(s.StudentId)).ToDictionaryAsync(s => s.StudentId, ct);
                timing.AddRead(watch.Elapsed);
                watch.Restart();
                var step = Stopwatch.StartNew();
                var scores = new List<StudentRiskScore>(rows.Count);
                var alerts = new List<RiskAlert>();
                var changes = new List<RiskScoreChanged>();
                var flagged = 0;
                for (var i = 0; i < rows.Count; i++)
                {
                    var (studentId, schoolId, prediction, threshold) = (rows[i].StudentId, rows[i].SchoolId, predictions[i], thresholds[i]);
                    var line = lines.GetValueOrDefault(schoolId);
                    var before = stored.GetValueOrDefault(studentId);
                    var decision = ScoreDecision.Of(StoredScore.Of(before),
                        studentId, prediction.Probability, threshold, options.Value.HysteresisRatio, line, active.ModelId);
                    if (decision.Raises)
                    {
                        alerts.Add(RiskScoring.NewAlert(active, studentId, schoolId, decision.Crossings, prediction, now));
                    }
                    flagged += decision.Flagged ? 1 : 0;
                    var score = RiskScoring.NewScore(active, studentId, schoolId, prediction.Probability, decision, threshold, line, factorsJson[i], now);
                    if (Unchanged(before, score, week))
                    {
                        continue;   // nothing to write: no news either (News compares fewer columns than Unchanged)
                    }
                    scores.Add(score);
                    if (decision.News)
                    {
                        changes.Add(new RiskScoreChanged(studentId, schoolId, active.Kind, prediction.Probability, decision.Band, decision.Flagged,
                            active.ModelId, active.Version, phrases[i], now));
                    }
                }
                timing.AddPart(0, step);
                await db.InsertOrUpdateAsync(scores, ct);
                timing.AddPart(1, step);
                // The week's snapshot of each score written, from the score row itself (equal by construction).
                await db.CopyFromScoresAsync(active.Kind, week, [.. scores.Select(s => s.StudentId)], ct);
                timing.AddPart(2, step);
                // Alerts, their RiskAlertRaised and the chunk's RiskScoresChanged without the change tracker, in this transaction.
                await db.RaiseAllAsync(alerts, ct);
                await db.PublishAllAsync([.. changes.Chunk(RiskScoring.ScoreChangesPerEvent).Select(records => new RiskScoresChanged(records))], ct);
                timing.AddPart(3, step);
                await transaction.CommitAsync(ct);
                timing.AddPart(4, step);
                timing.AddWrite(watch.Elapsed);
                return (flagged, alerts.Count, changes.Count);
            }
            catch (Exception e) when (attempt < 3 && e is DbUpdateException or DbException)
            {
                // A signal consumer wrote one of these students between the read and the write (on PostgreSQL: an alert of the
                // same crossing): read them again and decide again. Never a 500 for a race.
            }
            finally
            {
                db.ChangeTracker.Clear();
            }
        }
    }
}
