using System.Net;
using System.Net.Http.Json;
using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Consumers;
using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.Messaging;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.EarlyWarning.Tests;

/// <summary>
/// Two consumers' units of work scoring one student with the dropout model at once (issue #18: a grades batch and a
/// behaviour batch under a mixed load), on SQLite (<see cref="PostgresConcurrentScoringTests"/>: PostgreSQL). The units
/// of work are run as the consumers run them (the handler, then the save) and interleaved as the race needs: the grades
/// batch scores, the behaviour batch scores while the grades are unsaved (or, locked out, waits up to a second), the
/// grades save, then the behaviour.
/// </summary>
public class ConcurrentScoringTests : ServiceOnEitherDatabase<Program, EarlyWarningDbContext>
{
    private const string School = "school-race";
    private static readonly DateOnly Day = new(2026, 10, 1);

    protected override Dictionary<string, string?> Settings => new()
    {
        ["EarlyWarning:Models:Trees"] = "40",
        ["EarlyWarning:Scoring:Enabled"] = "false",
        ["EarlyWarning:Monitoring:Enabled"] = "false",
    };

    protected override async Task StartedAsync()
    {
        using var client = Service.CreateClient();
        using var response = await client.PostAsJsonAsync("/api/early-warning/v1/models/train", new { kind = "dropout", students = 3000, seed = 3, promote = true });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static string NewStudent() => $"race-{Guid.NewGuid():N}"[..20];

    private static GradeRecorded[] FailingMarks(string student) =>
        [.. new[] { ("math", 22.0), ("ela", 31.0), ("sci", 35.0), ("hist", 28.0) }.Select(c => new GradeRecorded(student, School, c.Item1, "2026-P1", c.Item2, Day, false, DateTimeOffset.UtcNow))];

    private static BehaviorIncidentRecorded[] Suspensions(string student) =>
        [.. Enumerable.Range(1, 3).Select(i => new BehaviorIncidentRecorded($"inc-{student}-{i}", student, School, Day.AddDays(i), "out-of-school-suspension", "major", false, DateTimeOffset.UtcNow))];

    [SkippableFact]
    public async Task Two_batches_scoring_a_new_student_at_once_both_commit_one_score_that_saw_both()
    {
        SkipUnlessRunning();
        var student = NewStudent();

        // Before the mend both read "never scored" and both inserted the score: the later commit failed on the key.
        await RaceAsync(FailingMarks(student), Suspensions(student));

        await AssertScoredOnEverythingAsync(student, marks: 4);
    }

    [SkippableFact]
    public async Task Two_batches_rescoring_a_student_at_once_lose_neither_batch_signals()
    {
        SkipUnlessRunning();
        var student = NewStudent();
        await ApplyAndSaveAsync<GradeUpdates, GradeRecorded>([new GradeRecorded(student, School, "art", "2026-P1", 91, Day, false, DateTimeOffset.UtcNow)]);
        Assert.NotNull(await ScoreAsync(student));

        // Before the mend the behaviour batch, saved last, wrote a score read before the failing marks were committed.
        await RaceAsync(FailingMarks(student), Suspensions(student));

        await AssertScoredOnEverythingAsync(student, marks: 5);
    }

    /// <summary>
    /// The stored score is the one the model gives on every signal stored (scoring again changes nothing), and every crossing
    /// the score counts raised its one alert.
    /// </summary>
    private async Task AssertScoredOnEverythingAsync(string student, int marks)
    {
        Assert.Equal(marks, await Service.WithDbAsync<EarlyWarningDbContext, int>(db => db.CourseMarks.CountAsync(m => m.StudentId == student)));
        Assert.Equal(3, await Service.WithDbAsync<EarlyWarningDbContext, int>(db => db.BehaviorIncidents.CountAsync(i => i.StudentId == student)));
        var raced = await ScoreAsync(student) ?? throw new InvalidOperationException("not scored");
        var alerts = await Service.WithDbAsync<EarlyWarningDbContext, int>(db => db.Alerts.CountAsync(a => a.StudentId == student && a.Kind == RiskScoring.AlertKind("dropout")));
        Assert.Equal(raced.Crossings, alerts);

        await using (var scope = Service.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<RiskScoring>().ScoreDropoutAsync([student], DateTimeOffset.UtcNow, default);
            await scope.ServiceProvider.GetRequiredService<EarlyWarningDbContext>().SaveChangesAsync();
        }
        var again = await ScoreAsync(student);
        Assert.True(again!.ScoredAt > raced.ScoredAt);
        Assert.Equal(again.Score, raced.Score, 9);
        Assert.Equal(again.FactorsJson, raced.FactorsJson);
    }

    private Task<StudentRiskScore?> ScoreAsync(string student) => Service.WithDbAsync<EarlyWarningDbContext, StudentRiskScore?>(db =>
        db.RiskScores.AsNoTracking().SingleOrDefaultAsync(s => s.StudentId == student && s.Kind == "dropout"));

    /// <summary>One consumer's unit of work: the handler applies the records (and scores), then the context saves.</summary>
    private async Task ApplyAndSaveAsync<THandler, TRecord>(IReadOnlyList<TRecord> records, Func<Task>? beforeSave = null)
        where THandler : IRecordsHandler<TRecord>
    {
        await using var scope = Service.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<THandler>().ApplyAsync(records, default);
        if (beforeSave is not null)
        {
            await beforeSave();
        }
        await scope.ServiceProvider.GetRequiredService<EarlyWarningDbContext>().SaveChangesAsync();
    }

    private async Task RaceAsync(GradeRecorded[] marks, BehaviorIncidentRecorded[] incidents)
    {
        var gradesScored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var incidentsScored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gradesSaved = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var grades = Task.Run(async () =>
        {
            try
            {
                await ApplyAndSaveAsync<GradeUpdates, GradeRecorded>(marks, async () =>
                {
                    gradesScored.SetResult();
                    // Unlocked, the behaviour batch scores now; locked out, it cannot until this save commits.
                    await Task.WhenAny(incidentsScored.Task, Task.Delay(TimeSpan.FromSeconds(1)));
                });
                gradesSaved.SetResult();
            }
            catch (Exception e)
            {
                gradesScored.TrySetException(e);
                gradesSaved.TrySetException(e);
                throw;
            }
        });
        var behaviour = Task.Run(async () =>
        {
            await gradesScored.Task;
            await ApplyAndSaveAsync<BehaviorUpdates, BehaviorIncidentRecorded>(incidents, async () =>
            {
                incidentsScored.SetResult();
                await gradesSaved.Task;
            });
        });
        await Task.WhenAll(grades, behaviour).WaitAsync(TimeSpan.FromSeconds(60));
    }
}

/// <summary>The same on PostgreSQL (skipped unless BEACON_TEST_POSTGRES is set; ./beacon test sets it).</summary>
public sealed class PostgresConcurrentScoringTests : ConcurrentScoringTests
{
    protected override bool OnPostgres => true;
}
