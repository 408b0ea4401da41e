using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Dropout;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.EarlyWarning.Tests;

/// <summary>
/// The K-12 dropout model live, against the real RabbitMQ: trained (synthetic cold start) and promoted through
/// the API, then every signal kind re-scores the student in the unit of work that changed them.
/// </summary>
public sealed class DropoutScoringTests : IAsyncLifetime
{
    // Few trees: these tests are about the plumbing; model quality is TrainingTests' business.
    private readonly ServiceFactory<Program> _service = new() { Settings = { ["EarlyWarning:Models:Trees"] = "40" } };
    private static readonly DateOnly Day = new(2026, 10, 1);
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        await _service.WaitUntilReadyAsync();
        _client = _service.CreateClient();
        using var response = await _client.PostAsJsonAsync("/api/early-warning/v1/models/train", new { kind = "dropout", students = 3000, seed = 3, promote = true });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var model = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("active", model.GetProperty("status").GetString());
        Assert.Contains("SYNTHETIC", model.GetProperty("dataSource").GetString());
    }

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private IBus Bus => _service.Services.GetRequiredService<IBus>();

    private Task<StudentRiskScore?> ScoreAsync(string student) =>
        Db(db => db.RiskScores.AsNoTracking().FirstOrDefaultAsync(s => s.StudentId == student && s.Kind == "dropout"));

    private Task<T> Db<T>(Func<EarlyWarningDbContext, Task<T>> work) => _service.WithDbAsync(work);

    private static string NewStudent() => $"stu-{Guid.NewGuid():N}"[..20];

    [Fact]
    public async Task A_grade_only_student_gets_a_course_alert_and_a_dropout_score_with_a_course_factor()
    {
        var student = NewStudent();
        var at = DateTimeOffset.UtcNow;
        foreach (var (course, mark) in new[] { ("math", 31.0), ("ela", 38.0), ("sci", 44.0), ("hist", 52.0) })
        {
            await Bus.Publish(new GradeRecorded(student, "school-d", course, "2026-P1", mark, Day, false, at));
        }
        await Eventually.WaitAsync(() => Db(db => db.CourseMarks.CountAsync(m => m.StudentId == student)), n => n == 4, TimeSpan.FromSeconds(60));
        var score = await Eventually.WaitAsync(() => ScoreAsync(student), s => s is not null, TimeSpan.FromSeconds(60));
        Assert.Equal("school-d", score!.SchoolId);

        using var http = _service.CreateClientAs(TestTokens.Counselor("c-d", "school-d"));
        var risk = await http.GetFromJsonAsync<JsonElement>($"/api/early-warning/v1/students/{student}/risk?kind=dropout");
        var factors = risk.GetProperty("factors").EnumerateArray().ToList();
        var courseFactor = factors.FirstOrDefault(f => f.GetProperty("feature").GetString() is "courses_failing" or "mean_mark" or "lowest_mark");
        Assert.True(courseFactor.ValueKind == JsonValueKind.Object, $"no course factor among {risk.GetProperty("explanation").GetString()}");
        Assert.True(courseFactor.GetProperty("raisesRisk").GetBoolean());
        Assert.Contains("dropout", risk.GetProperty("explanation").GetString());

        // Four failures in a term: the transparent course indicator raised its own alert too.
        var alerts = await Db(db => db.Alerts.Where(a => a.StudentId == student).ToListAsync());
        Assert.Contains(alerts, a => a.Kind == RiskKinds.CoursePerformance);
    }

    [Fact]
    public async Task Each_signal_kind_moves_the_score_and_a_redelivery_does_not()
    {
        var student = NewStudent();
        var at = DateTimeOffset.UtcNow;
        // A failing mark, not a good one: the cold start is trained across the term, and the small test model (3,000 students,
        // 40 trees) then leaves a student with an 88 at its floor, where suspensions do not move it (its response to them is
        // learnt among the students already slipping); what is checked here is that each signal kind re-scores and moves it.
        await Bus.Publish(new GradeRecorded(student, "school-d", "math", "2026-P1", 55, Day, false, at));
        var first = await Eventually.WaitAsync(() => ScoreAsync(student), s => s is not null, TimeSpan.FromSeconds(60));

        // Suspensions raise the score; the same incidents again change nothing.
        var incidents = Enumerable.Range(1, 3).Select(i =>
            new BehaviorIncidentRecorded($"inc-{student}-{i}", student, "school-d", Day.AddDays(i), "out-of-school-suspension", "major", false, at)).ToArray();
        foreach (var incident in incidents)
        {
            await Bus.Publish(incident);
        }
        // The score is written in the unit of work that stores the incident: with all three stored, it is the score after all three.
        await Eventually.WaitAsync(() => Db(db => db.BehaviorIncidents.CountAsync(i => i.StudentId == student)), n => n == 3, TimeSpan.FromSeconds(60));
        var afterIncidents = await ScoreAsync(student);
        Assert.True(afterIncidents!.Score > first!.Score, $"three suspensions moved the score from {first.Score} to {afterIncidents.Score}");
        foreach (var incident in incidents)
        {
            await Bus.Publish(incident);
        }
        await Task.Delay(1500);
        Assert.Equal(afterIncidents!.Score, (await ScoreAsync(student))!.Score, 6);
        Assert.Equal(3, await Db(db => db.BehaviorIncidents.CountAsync(i => i.StudentId == student)));

        // Attendance arrives in batches from Ingestion; the batch consumer re-scores the student once.
        var days = Enumerable.Range(0, 20).Select(d => new AttendanceRecorded(student, "school-d", Day.AddDays(d), d % 2 == 0 ? "absent" : "present", false, at)).ToArray();
        await Bus.Publish(new AttendanceBatchRecorded(days));
        var afterAttendance = await Eventually.WaitAsync(() => ScoreAsync(student), s => s!.ScoredAt > afterIncidents.ScoredAt, TimeSpan.FromSeconds(60));
        Assert.NotEqual(afterIncidents.Score, afterAttendance!.Score);

        // The nightly path re-scores every student the dropout model can score, with the active version.
        using var rescore = await _client.PostAsJsonAsync("/api/early-warning/v1/models/rescore", new { kind = "dropout" });
        Assert.Equal(HttpStatusCode.OK, rescore.StatusCode);
        Assert.True((await rescore.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("studentsScored").GetInt32() >= 1);
    }

    [Fact]
    public async Task Lms_statements_count_once_in_batches_and_a_voided_one_stops_counting_even_when_the_voiding_comes_first()
    {
        var student = NewStudent();
        var today = DateTimeOffset.UtcNow;
        await Bus.Publish(new GradeRecorded(student, "school-d", "math", "2026-P1", 71, DateOnly.FromDateTime(today.UtcDateTime), false, today));
        await Eventually.WaitAsync(() => ScoreAsync(student), s => s is not null, TimeSpan.FromSeconds(60));
        // Five active days, one statement sent twice; the voiding of a sixth overtakes the statement it voids.
        var statements = Enumerable.Range(1, 5).Select(d => new LmsActivityRecorded($"st-{student}-{d}", student, "completed", "unit-1", 600, today.AddDays(-d))).ToList();
        var early = new LmsActivityRecorded($"st-{student}-6", student, "completed", "unit-2", 600, today.AddDays(-6));
        await Bus.Publish(new LearningRecordVoided(early.StatementId, student, "activity", null, null, today));
        await Eventually.WaitAsync(() => Db(db => db.LmsActivity.CountAsync(a => a.StudentId == student && a.Voided)), n => n == 1, TimeSpan.FromSeconds(60));
        foreach (var statement in statements.Append(statements[0]).Append(early))
        {
            await Bus.Publish(statement);
        }
        await Eventually.WaitAsync(() => Db(db => db.LmsActivity.CountAsync(a => a.StudentId == student)), n => n == 6, TimeSpan.FromSeconds(60));
        await Task.Delay(1500);
        Assert.Equal(5, await ActiveLmsDaysAsync(student));

        // Voiding one of the five: four days remain, and the student is re-scored.
        var before = (await ScoreAsync(student))!;
        await Bus.Publish(new LearningRecordVoided(statements[2].StatementId, student, "activity", null, null, today));
        await Eventually.WaitAsync(() => Db(db => db.LmsActivity.CountAsync(a => a.StudentId == student && a.Voided)), n => n == 2, TimeSpan.FromSeconds(60));
        Assert.Equal(4, await ActiveLmsDaysAsync(student));
        Assert.True((await ScoreAsync(student))!.ScoredAt > before.ScoredAt);
    }

    /// <summary>The student's "active in the LMS on n of the last 30 days" input, as the features export computes it today.</summary>
    private async Task<int> ActiveLmsDaysAsync(string student)
    {
        var export = await _client.GetFromJsonAsync<JsonElement>($"/api/early-warning/v1/features?kind=dropout&asOf={DateTime.UtcNow:yyyy-MM-dd}");
        var index = export.GetProperty("features").EnumerateArray().Select(f => f.GetString()).ToList().IndexOf("lms_active_days");
        var row = export.GetProperty("students").EnumerateArray().Single(s => s.GetProperty("studentId").GetString() == student);
        return (int)row.GetProperty("values")[index].GetDouble();
    }

    [Fact]
    public async Task The_exported_inputs_are_the_ones_the_training_code_computes_from_the_same_signals()
    {
        var student = NewStudent();
        var at = DateTimeOffset.UtcNow;
        var days = Enumerable.Range(0, 20).Select(d => new AttendanceRecorded(student, "school-d", Day.AddDays(d), d % 4 == 0 ? "absent" : "present", false, at)).ToArray();
        var marks = new[] { "math", "ela", "sci" }.SelectMany((course, c) => new[]
        {
            new GradeRecorded(student, "school-d", course, "2026-P1", 70 + 5 * c, Day.AddDays(5), false, at),
            new GradeRecorded(student, "school-d", course, "2026-P2", 58 + 3 * c, Day.AddDays(15), false, at),
        }).ToArray();
        var incidents = new[] { (3, "defiance", "minor"), (12, "in-school-suspension", "major") }
            .Select(i => new BehaviorIncidentRecorded($"inc-{student}-{i.Item1}", student, "school-d", Day.AddDays(i.Item1), i.Item2, i.Item3, false, at)).ToArray();
        var lms = new[] { (1, 600.0), (1, 900.0), (4, 1500.0), (9, 300.0), (16, 1200.0) }
            .Select((l, i) => new LmsActivityRecorded($"st-{student}-{i}", student, "completed", "unit-1", l.Item2, new DateTimeOffset(Day.AddDays(l.Item1).ToDateTime(new TimeOnly(16, 0)), TimeSpan.Zero))).ToArray();
        await Bus.Publish(new AttendanceBatchRecorded(days));
        foreach (var message in marks.Cast<object>().Concat(incidents).Concat(lms))
        {
            await Bus.Publish(message);
        }
        await Eventually.WaitAsync(() => Db(async db => await db.AttendanceDays.CountAsync(d => d.StudentId == student) + await db.CourseMarks.CountAsync(m => m.StudentId == student)
            + await db.BehaviorIncidents.CountAsync(i => i.StudentId == student) + await db.LmsActivity.CountAsync(a => a.StudentId == student)),
            n => n == days.Length + marks.Length + incidents.Length + lms.Length, TimeSpan.FromSeconds(60));

        var asOf = Day.AddDays(19);
        var expected = K12DropoutFeatures.Compute(new StudentSignals(
            [.. days.Select(d => new SchoolDay(d.Date, d.Status))],
            [.. marks.Select(m => new MarkSignal(m.CourseId, m.Term, m.MarkPercent, m.Date))],
            [.. incidents.Select(i => new IncidentSignal(i.Date, i.Category, i.Severity))],
            [],
            [.. lms.Select(l => new LmsSignal(DateOnly.FromDateTime(l.Timestamp.UtcDateTime), l.DurationSeconds))]), asOf);
        var export = await _client.GetFromJsonAsync<JsonElement>($"/api/early-warning/v1/features?kind=dropout&asOf={asOf:yyyy-MM-dd}");
        Assert.Equal(K12DropoutFeatures.Set.Names, export.GetProperty("features").EnumerateArray().Select(f => f.GetString()!));
        var values = export.GetProperty("students").EnumerateArray().Single(s => s.GetProperty("studentId").GetString() == student)
            .GetProperty("values").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        Assert.Equal(expected.Length, values.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - values[i]) < 1e-4, $"{K12DropoutFeatures.Set.Names[i]}: exported {values[i]}, computed {expected[i]}");
        }
        // Not a comparison of zeros: both terms, the suspension and four LMS days reached the inputs.
        Assert.Equal(61 - 75, values[K12DropoutFeatures.Set.IndexOf("mark_trend")], 3);
        Assert.Equal(1, values[K12DropoutFeatures.Set.IndexOf("serious_incidents_term")]);
        Assert.Equal(4, values[K12DropoutFeatures.Set.IndexOf("lms_active_days")]);
    }

    [Fact]
    public async Task Erasure_removes_the_dropout_score_with_the_new_projections()
    {
        var student = NewStudent();
        await Bus.Publish(new GradeRecorded(student, "school-d", "math", "2026-P1", 40, Day, false, DateTimeOffset.UtcNow));
        await Bus.Publish(new LmsActivityRecorded($"st-{student}", student, "completed", "unit-1", 600, DateTimeOffset.UtcNow));
        await Eventually.WaitAsync(() => ScoreAsync(student), s => s is not null, TimeSpan.FromSeconds(60));
        await Eventually.WaitAsync(() => Db(db => db.LmsActivity.CountAsync(a => a.StudentId == student)), n => n == 1, TimeSpan.FromSeconds(60));
        await Bus.Publish(new StudentErasureRequested(Guid.NewGuid(), student, "test", DateTimeOffset.UtcNow));
        await Eventually.WaitAsync(() => Db(async db =>
            await db.RiskScores.CountAsync(s => s.StudentId == student) + await db.CourseMarks.CountAsync(m => m.StudentId == student)
            + await db.LmsActivity.CountAsync(a => a.StudentId == student)), n => n == 0, TimeSpan.FromSeconds(60));
    }
}
