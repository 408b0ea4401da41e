using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Consumers;
using Beacon.EarlyWarning.Storage;
using Beacon.Messaging;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.EarlyWarning.Tests;

/// <summary>
/// Grades, behaviour incidents, LMS activity and mastery against the real RabbitMQ: each changes its projection
/// once under redelivery and out-of-order delivery, and the B and C indicators raise one alert per crossing.
/// Behaviour incidents and mastery estimates are consumed in gathered batches: a batch holding a student's repeated and
/// out-of-order messages must leave the projection and the alerts exactly as one-at-a-time delivery does, so those
/// sequences are applied three ways, to three students: as one batch, one message per unit of work, and published to
/// the real broker (which gathers what arrives within its time limit).
/// </summary>
public sealed class SignalsToAlertTests : IAsyncLifetime
{
    private readonly ServiceFactory<Program> _service = new();
    private static readonly DateOnly Day = new(2026, 10, 1);

    public Task InitializeAsync() => _service.WaitUntilReadyAsync();

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private IBus Bus => _service.Services.GetRequiredService<IBus>();

    private Task<T> Db<T>(Func<EarlyWarningDbContext, Task<T>> work) => _service.WithDbAsync(work);

    private Task<List<RiskAlert>> AlertsAsync(string student) => Db(db => db.Alerts.Where(a => a.StudentId == student).ToListAsync());

    private static string NewStudent() => $"stu-{Guid.NewGuid():N}"[..20];

    [Fact]
    public async Task A_grade_only_student_raises_one_course_alert_even_when_grades_are_redelivered()
    {
        var student = NewStudent();
        var at = DateTimeOffset.UtcNow;
        GradeRecorded Mark(string course, double mark) => new(student, "school-g", course, "2026-T1", mark, Day, false, at);
        await Bus.Publish(Mark("ela", 81));
        await Bus.Publish(Mark("math", 48));
        var alerts = await Eventually.WaitAsync(() => AlertsAsync(student), a => a.Count > 0, TimeSpan.FromSeconds(60));
        var alert = Assert.Single(alerts);
        Assert.Equal(RiskKinds.CoursePerformance, alert.Kind);
        Assert.StartsWith("Failing 1 of 2 course(s) in 2026-T1", alert.Reason);
        // What raised it, and when its message was sent (the bus's header): how long the signal waited for the alert.
        Assert.Equal(nameof(GradeRecorded), alert.RaisedBy);
        Assert.InRange(alert.SignalSentAt!.Value, at.AddSeconds(-1), alert.RaisedAt);

        // The same two marks again, and a third passing course: one alert still, three marks stored.
        await Bus.Publish(Mark("ela", 81));
        await Bus.Publish(Mark("math", 48));
        await Bus.Publish(Mark("sci", 90));
        await Eventually.WaitAsync(() => Db(db => db.CourseMarks.CountAsync(m => m.StudentId == student)), n => n == 3, TimeSpan.FromSeconds(60));
        await Task.Delay(1000);
        Assert.Single(await AlertsAsync(student));

        // The indicators endpoint shows all three ABC indicators with the numbers behind them.
        using var http = _service.CreateClientAs(TestTokens.Counselor("c-g", "school-g"));
        var body = await http.GetFromJsonAsync<JsonElement>($"/api/early-warning/v1/students/{student}/indicators");
        var byKind = body.GetProperty("indicators").EnumerateArray().ToDictionary(i => i.GetProperty("kind").GetString()!);
        Assert.Equal(["chronic-absence", "behavior", "course-performance"], byKind.Keys);
        Assert.True(byKind["course-performance"].GetProperty("flagged").GetBoolean());
        Assert.StartsWith("Failing 1 of 3", byKind["course-performance"].GetProperty("explanation").GetString());
        Assert.False(byKind["chronic-absence"].TryGetProperty("hasData", out var has) && has.GetBoolean());
    }

    [Fact]
    public async Task A_correction_arriving_before_the_original_keeps_the_later_mark()
    {
        var student = NewStudent();
        var first = DateTimeOffset.UtcNow.AddMinutes(-5);
        var original = new GradeRecorded(student, "school-g", "math", "2026-T1", 45, Day, false, first);
        var correction = original with { MarkPercent = 75, IsCorrection = true, OccurredAt = first.AddMinutes(1) };
        await Bus.Publish(correction);
        await Eventually.WaitAsync(() => Db(db => db.CourseMarks.CountAsync(m => m.StudentId == student)), n => n == 1, TimeSpan.FromSeconds(60));
        await Bus.Publish(original);   // late: older than the stored correction, so ignored
        await Task.Delay(1500);
        var mark = await Db(db => db.CourseMarks.SingleAsync(m => m.StudentId == student));
        Assert.Equal(75, mark.MarkPercent);
        Assert.Empty(await AlertsAsync(student));
    }

    [Fact]
    public async Task A_suspension_like_incident_raises_one_behaviour_alert_and_a_redelivery_changes_nothing()
    {
        var student = NewStudent();
        var at = DateTimeOffset.UtcNow;
        await Bus.Publish(new BehaviorIncidentRecorded($"inc-{student}-1", student, "school-g", Day, "disruption", "minor", false, at));
        await Eventually.WaitAsync(() => Db(db => db.BehaviorIncidents.CountAsync(i => i.StudentId == student)), n => n == 1, TimeSpan.FromSeconds(60));
        Assert.Empty(await AlertsAsync(student));

        var major = new BehaviorIncidentRecorded($"inc-{student}-2", student, "school-g", Day.AddDays(5), "fighting", "major", false, at);
        await Bus.Publish(major);
        var alert = Assert.Single(await Eventually.WaitAsync(() => AlertsAsync(student), a => a.Count > 0, TimeSpan.FromSeconds(60)));
        Assert.Equal(RiskKinds.Behavior, alert.Kind);
        Assert.Contains("2 behaviour incident(s)", alert.Reason);

        await Bus.Publish(major);
        // A correction that downgrades the incident clears the flag; a later major incident is a new crossing.
        await Bus.Publish(major with { Severity = "minor", IsCorrection = true, OccurredAt = at.AddSeconds(1) });
        await Eventually.WaitAsync(() => Db(db => db.IndicatorStates.SingleAsync(s => s.StudentId == student && s.Kind == RiskKinds.Behavior)),
            s => !s.Flagged, TimeSpan.FromSeconds(60));
        await Bus.Publish(new BehaviorIncidentRecorded($"inc-{student}-3", student, "school-g", Day.AddDays(9), "weapon", "major", false, at));
        var alerts = await Eventually.WaitAsync(() => AlertsAsync(student), a => a.Count > 1, TimeSpan.FromSeconds(60));
        Assert.Equal([1, 2], alerts.Select(a => a.Crossing).Order());
        Assert.Equal(3, await Db(db => db.BehaviorIncidents.CountAsync(i => i.StudentId == student)));
    }

    [Fact]
    public async Task Lms_activity_and_mastery_are_projected_once_and_an_older_estimate_does_not_overwrite_a_newer()
    {
        var student = NewStudent();
        var at = DateTimeOffset.UtcNow;
        var statement = new LmsActivityRecorded($"st-{student}", student, "completed", "unit-1", 600, at);
        await Bus.Publish(statement);
        await Bus.Publish(statement);
        var newer = new MasteryChanged(student, "fractions", 0.8, true, 9, at);
        var older = newer with { ProbabilityMastered = 0.4, Mastered = false, Attempts = 5, OccurredAt = at.AddMinutes(-1) };
        await Bus.Publish(newer);
        await Bus.Publish(older);
        await Eventually.WaitAsync(() => Db(db => db.SkillMastery.CountAsync(m => m.StudentId == student)), n => n == 1, TimeSpan.FromSeconds(60));
        await Eventually.WaitAsync(() => Db(db => db.LmsActivity.CountAsync(a => a.StudentId == student)), n => n == 1, TimeSpan.FromSeconds(60));
        await Task.Delay(1500);
        Assert.Equal(1, await Db(db => db.LmsActivity.CountAsync(a => a.StudentId == student)));
        var mastery = await Db(db => db.SkillMastery.SingleAsync(m => m.StudentId == student));
        Assert.Equal(0.8, mastery.ProbabilityMastered);
        Assert.Equal(9, mastery.Attempts);
    }

    /// <summary>Whole seconds, so the times read back compare equal on either database.</summary>
    private static DateTimeOffset Now() => DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());

    /// <summary>One at a time and awaited, so the broker delivers them in this order.</summary>
    private async Task PublishInOrderAsync<T>(IEnumerable<T> messages)
        where T : class
    {
        foreach (var message in messages)
        {
            await Bus.Publish(message);
        }
    }

    /// <summary>The records in one unit of work, saved, as a gathered batch is.</summary>
    private async Task ApplyAsync<THandler, TRecord>(IReadOnlyList<TRecord> records)
        where THandler : IRecordsHandler<TRecord>
    {
        await using var scope = _service.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<THandler>().ApplyAsync(records, CancellationToken.None);
        await scope.ServiceProvider.GetRequiredService<EarlyWarningDbContext>().SaveChangesAsync();
    }

    /// <summary>
    /// Three incidents: a minor one, a major one whose correction (down to minor) arrives before it, and a third minor
    /// one; then everything again. Applied by time the student has three minor incidents: one crossing, on the third
    /// incident. Applying the stale major one would flag the student early, for a suspension-like incident.
    /// </summary>
    private static List<BehaviorIncidentRecorded> Incidents(string student, DateTimeOffset at)
    {
        var first = new BehaviorIncidentRecorded($"{student}-1", student, "school-b", Day, "disruption", "minor", false, at);
        var fight = new BehaviorIncidentRecorded($"{student}-2", student, "school-b", Day.AddDays(5), "fighting", "major", false, at);
        var corrected = fight with { Category = "defiance", Severity = "minor", IsCorrection = true, OccurredAt = at.AddSeconds(1) };
        var third = new BehaviorIncidentRecorded($"{student}-3", student, "school-b", Day.AddDays(9), "tardiness", "minor", false, at);
        return [corrected, first, fight, third, third, first, fight, corrected];
    }

    private sealed record Behavior(List<string> Incidents, List<string> Alerts, string State)
    {
        public void AssertSame(Behavior other)
        {
            Assert.Equal(Incidents, other.Incidents);
            Assert.Equal(Alerts, other.Alerts);
            Assert.Equal(State, other.State);
        }
    }

    private async Task<Behavior> BehaviorOfAsync(string student) => new(
        await Db(db => db.BehaviorIncidents.Where(i => i.StudentId == student).OrderBy(i => i.IncidentId)
            .Select(i => $"{i.IncidentId.Substring(student.Length)} {i.Date} {i.Category} {i.Severity} {i.OccurredAt}").ToListAsync()),
        await Db(db => db.Alerts.Where(a => a.StudentId == student).OrderBy(a => a.Crossing)
            .Select(a => $"{a.Kind} {a.Crossing} {a.Reason} {a.Score}").ToListAsync()),
        await Db(async db => await db.IndicatorStates.Where(s => s.StudentId == student)
            .Select(s => $"{s.Kind} {s.Flagged} {s.Crossings} {s.Score} {s.Explanation}").SingleAsync()));

    [Fact]
    public async Task A_batch_of_repeated_and_out_of_order_incidents_gives_the_projection_and_the_single_alert_of_one_at_a_time_delivery()
    {
        var at = Now();
        var (batched, single, published) = (NewStudent(), NewStudent(), NewStudent());
        await ApplyAsync<BehaviorUpdates, BehaviorIncidentRecorded>(Incidents(batched, at));
        foreach (var incident in Incidents(single, at))
        {
            await ApplyAsync<BehaviorUpdates, BehaviorIncidentRecorded>([incident]);
        }
        await PublishInOrderAsync(Incidents(published, at));

        var expected = await BehaviorOfAsync(single);
        var alert = Assert.Single(expected.Alerts);
        Assert.StartsWith($"{RiskKinds.Behavior} 1 ", alert);
        Assert.Contains("3 behaviour incident(s)", alert);
        Assert.All(expected.Incidents, i => Assert.EndsWith("minor " + (i.StartsWith("-2", StringComparison.Ordinal) ? at.AddSeconds(1) : at), i));
        expected.AssertSame(await BehaviorOfAsync(batched));
        await Eventually.WaitAsync(() => Db(db => db.Alerts.CountAsync(a => a.StudentId == published)), n => n > 0, TimeSpan.FromSeconds(60));
        await Task.Delay(1500);   // nothing more arrives
        expected.AssertSame(await BehaviorOfAsync(published));
    }

    [Fact]
    public async Task An_incident_moved_to_another_student_within_a_batch_clears_the_first_students_flag_and_flags_the_second()
    {
        var at = Now();
        var (first, second) = (NewStudent(), NewStudent());
        var fight = new BehaviorIncidentRecorded($"{first}-x", first, "school-b", Day, "fighting", "major", false, at);
        var moved = fight with { StudentId = second, IsCorrection = true, OccurredAt = at.AddSeconds(1) };
        // The move, then the original again (stale): one batch.
        await ApplyAsync<BehaviorUpdates, BehaviorIncidentRecorded>([fight, moved, fight]);

        var left = await BehaviorOfAsync(first);
        Assert.Empty(left.Incidents);
        Assert.StartsWith($"{RiskKinds.Behavior} False 1 ", left.State);
        Assert.Single(left.Alerts);   // raised when the incident was first's; not taken back, not raised again
        var now = await Db(db => db.BehaviorIncidents.Where(i => i.StudentId == second).Select(i => i.IncidentId).ToListAsync());
        Assert.Equal([$"{first}-x"], now);
        Assert.StartsWith($"{RiskKinds.Behavior} True 1 ", (await BehaviorOfAsync(second)).State);
        Assert.Single((await BehaviorOfAsync(second)).Alerts);
    }

    [Fact]
    public async Task A_batch_of_repeated_and_out_of_order_estimates_keeps_each_skills_newest_as_one_at_a_time_delivery_does()
    {
        var at = Now();
        List<MasteryChanged> Estimates(string student)
        {
            var fractions = new MasteryChanged(student, "fractions", 0.8, true, 9, at);
            var earlier = fractions with { ProbabilityMastered = 0.4, Mastered = false, Attempts = 5, OccurredAt = at.AddMinutes(-1) };
            // The same moment, one more attempt: newer by attempts.
            var decimals = new MasteryChanged(student, "decimals", 0.3, false, 2, at);
            var next = decimals with { ProbabilityMastered = 0.55, Attempts = 3 };
            return [fractions, earlier, next, decimals, fractions, earlier, decimals];
        }
        async Task<List<string>> MasteryOf(string student) => await Db(db => db.SkillMastery.Where(m => m.StudentId == student).OrderBy(m => m.SkillId)
            .Select(m => $"{m.SkillId} {m.ProbabilityMastered} {m.Mastered} {m.Attempts} {m.OccurredAt}").ToListAsync());

        var (batched, single, published) = (NewStudent(), NewStudent(), NewStudent());
        await ApplyAsync<MasteryUpdates, MasteryChanged>(Estimates(batched));
        foreach (var estimate in Estimates(single))
        {
            await ApplyAsync<MasteryUpdates, MasteryChanged>([estimate]);
        }
        await PublishInOrderAsync(Estimates(published));

        var expected = await MasteryOf(single);
        Assert.Equal([$"decimals 0.55 False 3 {at}", $"fractions 0.8 True 9 {at}"], expected);
        Assert.Equal(expected, await MasteryOf(batched));
        await Eventually.WaitAsync(() => MasteryOf(published), m => m.Count == 2, TimeSpan.FromSeconds(60));
        await Task.Delay(1500);
        Assert.Equal(expected, await MasteryOf(published));
    }

    [Fact]
    public async Task Per_student_mastery_events_and_per_skill_ones_still_in_flight_keep_each_skills_newest_in_any_order()
    {
        var at = Now();
        StudentMasteryChanged Newer(string student) => new(student, [new("fractions", 0.8, true, 9), new("decimals", 0.3, false, 2)], at);
        StudentMasteryChanged Older(string student) => new(student, [new("fractions", 0.4, false, 5)], at.AddMinutes(-1));
        // Per-skill events a Mastery of before published: one newer by attempts at the same moment, one older.
        MasteryChanged LegacyNewer(string student) => new(student, "decimals", 0.55, false, 3, at);
        MasteryChanged LegacyOlder(string student) => new(student, "fractions", 0.2, false, 4, at.AddMinutes(-2));
        async Task<List<string>> MasteryOf(string student) => await Db(db => db.SkillMastery.Where(m => m.StudentId == student).OrderBy(m => m.SkillId)
            .Select(m => $"{m.SkillId} {m.ProbabilityMastered} {m.Mastered} {m.Attempts} {m.OccurredAt}").ToListAsync());
        List<string> expected = [$"decimals 0.55 False 3 {at}", $"fractions 0.8 True 9 {at}"];

        var (batched, published) = (NewStudent(), NewStudent());
        await ApplyAsync<StudentMasteryUpdates, StudentMasteryChanged>([Older(batched), Newer(batched), Older(batched)]);
        await ApplyAsync<MasteryUpdates, MasteryChanged>([LegacyNewer(batched), LegacyOlder(batched)]);
        await ApplyAsync<StudentMasteryUpdates, StudentMasteryChanged>([Newer(batched)]);
        Assert.Equal(expected, await MasteryOf(batched));

        await Bus.Publish(LegacyNewer(published));
        await Bus.Publish(Newer(published));
        await Bus.Publish(Older(published));
        await Bus.Publish(LegacyOlder(published));
        await Bus.Publish(Newer(published));
        await Eventually.WaitAsync(() => MasteryOf(published), m => m.SequenceEqual(expected), TimeSpan.FromSeconds(60));
        await Task.Delay(1500);
        Assert.Equal(expected, await MasteryOf(published));
    }
}
