using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.Messaging;
using Beacon.RiskModels;
using Beacon.RiskModels.Attendance;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.EarlyWarning.Tests;

/// <summary>
/// The batch re-score (issue #24 item 4: chunks, parallel scores and explanations, bulk upserts) against the per-signal
/// path that scores one student at a time, on SQLite (<see cref="PostgresBatchRescoreTests"/>: PostgreSQL). A constructed
/// school of 45 students without a cap and one of 40 capped at 10 %, with a district threshold generous enough that the
/// cap binds; chunks of 7 students, so every chunk boundary and the two-pass capacity line are crossed.
/// </summary>
public class BatchRescoreTests : ServiceOnEitherDatabase<Program, EarlyWarningDbContext>
{
    private const string Kind = "chronic-absence";
    private readonly string _open = $"bo-{Guid.NewGuid():N}"[..11];
    private readonly string _capped = $"bc-{Guid.NewGuid():N}"[..11];
    private HttpClient _client = null!;

    protected override Dictionary<string, string?> Settings => new()
    {
        ["EarlyWarning:Models:Trees"] = "40",
        [$"EarlyWarning:Models:SchoolCapacities:{_capped}"] = "0.1",
        ["EarlyWarning:Scoring:Enabled"] = "false",
        ["EarlyWarning:Monitoring:Enabled"] = "false",
    };

    protected override Task StartedAsync()
    {
        _client = Service.CreateClient();
        return Task.CompletedTask;
    }

    [SkippableFact]
    public async Task The_batch_gives_each_student_what_one_at_a_time_scoring_gives_publishes_only_changes_and_holds_the_cap()
    {
        SkipUnlessRunning();
        var open = Enumerable.Range(0, 45).Select(i => $"{_open}-s{i:00}").ToArray();
        var capped = Enumerable.Range(0, 40).Select(i => $"{_capped}-s{i:00}").ToArray();
        await SeedAsync(open, _open);
        await SeedAsync(capped, _capped);
        var first = await TrainAsync(seed: 5);

        // The per-signal path scores everyone (one student at a time); then the batch, with the same model and data.
        var oneByOne = await OneAtATimeAsync([.. open, .. capped], keep: true);
        var mark = await OutboxMarkAsync();
        var report = await RescoreAsync();
        Assert.Equal(2, report.Passes);   // a school has a cap: the line is drawn from everyone's new score first
        Assert.True(report.Students >= 85);
        var batch = await ScoresAsync([.. open, .. capped]);
        Assert.All(open, s => AssertSame(oneByOne[s], batch[s]));
        Assert.All(capped, s =>
        {
            Assert.Equal(oneByOne[s].Score, batch[s].Score);
            Assert.Equal(oneByOne[s].Band, batch[s].Band);
            Assert.Equal(oneByOne[s].FactorsJson, batch[s].FactorsJson);
        });
        AssertCapHolds(batch, capped);
        // Events only for changed students: none in the open school (nothing changed), and in the capped one exactly
        // those whose flag the cap changed (the per-signal path drew its lines from the scores stored so far).
        var changed = await ChangesSinceAsync(mark);
        Assert.Equal(capped.Where(s => oneByOne[s].Flagged != batch[s].Flagged).Order(), changed.Select(c => c.StudentId).Order());
        Assert.All(changed, c => Assert.Equal(batch[c.StudentId].Flagged, c.Flagged));
        Assert.Empty(await AlertsSinceAsync(oneByOne, batch));

        // A new model: what the one-at-a-time path would store (in a transaction rolled back), then the batch for real.
        var second = await TrainAsync(seed: 9);
        Assert.NotEqual(first, second);
        var expected = await OneAtATimeAsync(open, keep: false);
        var untouched = await ScoresAsync(open);
        Assert.All(open, s => AssertSame(batch[s], untouched[s]));   // the rolled-back scoring left no trace
        Assert.All(open, s => Assert.Equal(second, expected[s].ModelId));
        mark = await OutboxMarkAsync();
        var statistics = Service.Services.GetRequiredService<OutboxStatistics>();
        var (fromMemory, strays) = (statistics.FromMemory, statistics.Strays);
        var before = batch;
        await RescoreAsync();
        batch = await ScoresAsync([.. open, .. capped]);
        Assert.All(open, s => AssertSame(expected[s], batch[s]));
        Assert.All(batch.Values, s => Assert.Equal(second, s.ModelId));
        AssertCapHolds(batch, capped);
        // Every score is news under a new model version (one record each, with the factors stored beside the score)...
        changed = await ChangesSinceAsync(mark);
        Assert.Equal(open.Concat(capped).Order(), changed.Select(c => c.StudentId).Where(s => batch.ContainsKey(s)).Order());
        Assert.All(changed.Where(c => batch.ContainsKey(c.StudentId)), c =>
        {
            Assert.Equal(2, c.ModelVersion);
            Assert.Equal(JsonSerializer.Deserialize<List<RiskFactor>>(batch[c.StudentId].FactorsJson)!.Select(RiskScoring.Phrase), c.TopFactors);
        });
        // ...and an alert for each new crossing, numbered after the student's earlier ones.
        var raised = await AlertsSinceAsync(before, batch);
        Assert.Equal(batch.Values.Where(s => s.Flagged && !before[s.StudentId].Flagged).Select(s => s.StudentId).Order(), raised.Select(a => a.StudentId).Order());
        Assert.All(raised, a => Assert.Equal(batch[a.StudentId].Crossings, a.Crossing));
        Assert.All(raised, a => Assert.Equal(second, a.ModelId));
        // Each alert's RiskAlertRaised is in the outbox beside it (written in bulk, not through the change tracker).
        var alertEvents = (await EventsSinceAsync(mark)).OfType<RiskAlertRaised>().Where(e => e.SchoolId == _open || e.SchoolId == _capped).ToList();
        Assert.Equal(raised.Select(a => a.AlertId).Order(), alertEvents.Select(e => e.AlertId).Order());
        Assert.All(alertEvents, e => Assert.Equal(raised.Single(a => a.AlertId == e.AlertId).Reason, e.Reason));
        // The week's snapshots (copied from the score rows by the database) say what the scores say.
        var week = RiskScoring.WeekStart(batch.Values.First().ScoredAt);
        var snapshots = await Service.WithDbAsync<EarlyWarningDbContext, List<ScoreSnapshot>>(db =>
            db.ScoreSnapshots.AsNoTracking().Where(s => s.WeekStart == week && s.ModelId == second && (s.SchoolId == _open || s.SchoolId == _capped)).ToListAsync());
        Assert.Equal(85, snapshots.Count);
        Assert.All(snapshots, s =>
        {
            var score = batch[s.StudentId];
            Assert.Equal((score.Kind, score.SchoolId, score.ModelId, score.ModelVersion, score.Score, score.Flagged, score.Threshold, score.ScoredAt, false),
                (s.Kind, s.SchoolId, s.ModelId, s.ModelVersion, s.Score, s.Flagged, s.Threshold, s.ScoredAt, s.Backfilled));
        });
        // The relay got every one of those rows in memory at the commit (none found later as a stray) and published them.
        var written = await Service.WithDbAsync<EarlyWarningDbContext, int>(db => db.Set<OutboxMessage>().CountAsync(m => m.Sequence > mark));
        Assert.Equal(0, await Eventually.WaitAsync(() => Service.WithDbAsync<EarlyWarningDbContext, int>(db =>
            db.Set<OutboxMessage>().CountAsync(m => m.Sequence > mark && m.SentAt == null)), unsent => unsent == 0, TimeSpan.FromSeconds(30)));
        Assert.True(statistics.FromMemory - fromMemory >= written, $"{statistics.FromMemory - fromMemory} of {written} rows published from memory");
        Assert.Equal(strays, statistics.Strays);

        // Idempotent: the same rescore again changes nothing, raises nothing, publishes nothing.
        mark = await OutboxMarkAsync();
        await RescoreAsync();
        var again = await ScoresAsync([.. open, .. capped]);
        Assert.All(again.Values, s => AssertSame(batch[s.StudentId], s));
        Assert.All(again.Values, s => Assert.Equal(batch[s.StudentId].ScoredAt, s.ScoredAt));   // not rewritten: nothing in it changed
        Assert.Empty(await ChangesSinceAsync(mark));
        Assert.Empty(await AlertsSinceAsync(batch, again));

        // A week on, the same scores are written again once (ScoredAt refreshed, so retention's "not refreshed since" holds) with
        // the new week's snapshots, and still nothing is published.
        var nextWeek = batch.Values.Max(s => s.ScoredAt).AddDays(7);
        var weekAfter = RiskScoring.WeekStart(nextWeek);
        mark = await OutboxMarkAsync();
        await RescoreAsync(nextWeek);
        var later = await ScoresAsync([.. open, .. capped]);
        Assert.All(later.Values, s => AssertSame(batch[s.StudentId], s));
        Assert.All(later.Values, s => Assert.True((s.ScoredAt - nextWeek).Duration() < TimeSpan.FromMilliseconds(1), $"{s.StudentId} scored at {s.ScoredAt}"));
        Assert.Empty(await ChangesSinceAsync(mark));
        Assert.Equal(85, await Service.WithDbAsync<EarlyWarningDbContext, int>(db =>
            db.ScoreSnapshots.CountAsync(s => s.WeekStart == weekAfter && s.ModelId == second && (s.SchoolId == _open || s.SchoolId == _capped))));
    }

    private static void AssertSame(StudentRiskScore expected, StudentRiskScore actual)
    {
        Assert.Equal(expected.Score, actual.Score);
        Assert.Equal(expected.Band, actual.Band);
        Assert.Equal(expected.Flagged, actual.Flagged);
        Assert.Equal(expected.Crossings, actual.Crossings);
        Assert.Equal(expected.FactorsJson, actual.FactorsJson);
        Assert.Equal(expected.ModelId, actual.ModelId);
        Assert.Equal(expected.ModelVersion, actual.ModelVersion);
        Assert.Equal(expected.Threshold, actual.Threshold);
    }

    /// <summary>Exactly the school's share flagged (4 of 40), the highest scores then ids first, every row naming the line.</summary>
    private static void AssertCapHolds(Dictionary<string, StudentRiskScore> scores, string[] capped)
    {
        var school = capped.Select(s => scores[s]).ToList();
        Assert.True(school.Count(s => s.Score >= s.Threshold) > 4, "the cap must bind for the test to mean anything");
        var top = school.OrderByDescending(s => s.Score).ThenBy(s => s.StudentId, StringComparer.Ordinal).Take(4).ToList();
        Assert.Equal(top.Select(s => s.StudentId).Order(), school.Where(s => s.Flagged).Select(s => s.StudentId).Order());
        Assert.All(school, s => Assert.Equal(top[^1].Score, s.CapacityLine));
    }

    /// <summary>20 school days a student; student i misses about i/2 of them, so many cross the line and the scores spread.</summary>
    private Task SeedAsync(string[] students, string school) => Service.WithDbAsync<EarlyWarningDbContext, int>(db =>
    {
        var days = Enumerable.Range(0, 28).Select(n => new DateOnly(2026, 9, 7).AddDays(n)).Where(d => d.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday)).Take(20).ToArray();
        for (var i = 0; i < students.Length; i++)
        {
            db.RiskStates.Add(new StudentRiskState { StudentId = students[i], SchoolId = school, DaysEnrolled = 20, UpdatedAt = DateTimeOffset.UtcNow });
            for (var d = 0; d < days.Length; d++)
            {
                db.AttendanceDays.Add(new AttendanceDay { StudentId = students[i], Date = days[d], Status = (d * 7 + i) % 20 < i / 2 ? "absent" : "present" });
            }
        }
        return db.SaveChangesAsync();
    });

    private async Task<Guid> TrainAsync(int seed)
    {
        using var train = await _client.PostAsJsonAsync("/api/early-warning/v1/models/train", new { kind = Kind, students = 1500, seed, promote = true });
        Assert.Equal(HttpStatusCode.OK, train.StatusCode);
        var modelId = (await train.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("modelId").GetString()!;
        // A generous district threshold (the top half of the calibration slice), so the threshold alone would flag many.
        using var threshold = await _client.PostAsJsonAsync($"/api/early-warning/v1/models/{modelId}/thresholds", new { flagTopShare = 0.5 });
        Assert.Equal(HttpStatusCode.OK, threshold.StatusCode);
        return Guid.Parse(modelId);
    }

    private async Task<RescoreReport> RescoreAsync(DateTimeOffset? now = null)
    {
        await using var scope = Service.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<BatchRescoring>().RescoreAllAsync(now ?? DateTimeOffset.UtcNow, default, Kind, chunkSize: 7);
    }

    /// <summary>The per-signal path (as the attendance consumer runs it), a student at a time, saved; rolled back unless kept.</summary>
    private async Task<Dictionary<string, StudentRiskScore>> OneAtATimeAsync(string[] students, bool keep)
    {
        await using var scope = Service.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<EarlyWarningDbContext>();
        var scoring = scope.ServiceProvider.GetRequiredService<RiskScoring>();
        await using var transaction = await db.Database.BeginTransactionAsync();
        var days = (await db.AttendanceDays.AsNoTracking().Where(d => students.Contains(d.StudentId)).ToListAsync()).ToLookup(d => d.StudentId);
        var schools = await db.RiskStates.AsNoTracking().Where(s => students.Contains(s.StudentId)).ToDictionaryAsync(s => s.StudentId, s => s.SchoolId);
        var score = await scoring.PrepareAttendanceScoringAsync(students, DateTimeOffset.UtcNow, default) ?? throw new InvalidOperationException("no active model");
        foreach (var student in students)
        {
            await score(new StudentDays(student, schools[student], [.. days[student].Select(d => new SchoolDay(d.Date, d.Status))]));
        }
        scoring.PublishScoreChanges();
        await db.SaveChangesAsync();
        var rows = await db.RiskScores.AsNoTracking().Where(s => s.Kind == Kind && students.Contains(s.StudentId)).ToDictionaryAsync(s => s.StudentId);
        if (keep)
        {
            await transaction.CommitAsync();
        }
        else
        {
            await transaction.RollbackAsync();
        }
        return rows;
    }

    private Task<Dictionary<string, StudentRiskScore>> ScoresAsync(string[] students) => Service.WithDbAsync<EarlyWarningDbContext, Dictionary<string, StudentRiskScore>>(db =>
        db.RiskScores.AsNoTracking().Where(s => s.Kind == Kind && students.Contains(s.StudentId)).ToDictionaryAsync(s => s.StudentId));

    private Task<long> OutboxMarkAsync() => Service.WithDbAsync<EarlyWarningDbContext, long>(async db =>
        await db.Set<OutboxMessage>().MaxAsync(m => (long?)m.Sequence) ?? 0);

    /// <summary>The score changes put in the outbox after the mark, about this test's students.</summary>
    private async Task<List<RiskScoreChanged>> ChangesSinceAsync(long mark) =>
        [.. (await EventsSinceAsync(mark)).OfType<RiskScoresChanged>().SelectMany(e => e.Records).Where(c => c.SchoolId == _open || c.SchoolId == _capped)];

    private async Task<List<object>> EventsSinceAsync(long mark)
    {
        var rows = await Service.WithDbAsync<EarlyWarningDbContext, List<OutboxMessage>>(db =>
            db.Set<OutboxMessage>().AsNoTracking().Where(m => m.Sequence > mark).OrderBy(m => m.Sequence).ToListAsync());
        return [.. rows.Select(r => r.ToEvent().Message)];
    }

    /// <summary>Model alerts about these students with a crossing above what the earlier scores had counted.</summary>
    private Task<List<RiskAlert>> AlertsSinceAsync(Dictionary<string, StudentRiskScore> before, Dictionary<string, StudentRiskScore> after) =>
        Service.WithDbAsync<EarlyWarningDbContext, List<RiskAlert>>(async db =>
        {
            var ids = after.Keys.ToArray();
            var alerts = await db.Alerts.AsNoTracking().Where(a => a.Kind == RiskScoring.AlertKind(Kind) && ids.Contains(a.StudentId)).ToListAsync();
            return [.. alerts.Where(a => a.Crossing > before[a.StudentId].Crossings)];
        });
}

/// <summary>The same on PostgreSQL (skipped unless BEACON_TEST_POSTGRES is set; ./beacon test sets it).</summary>
public sealed class PostgresBatchRescoreTests : BatchRescoreTests
{
    protected override bool OnPostgres => true;
}
