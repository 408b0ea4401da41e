using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Storage;
using Beacon.ServiceDefaults;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.EarlyWarning.Tests;

/// <summary>Erasure and retention in Early warning against the real broker.</summary>
public sealed class GovernanceTests : IAsyncLifetime
{
    private readonly ServiceFactory<Program> _service = new()
    {
        Settings =
        {
            ["Retention:RiskAlerts"] = "P1Y",
            ["Retention:AttendanceDays"] = "P400D",
            ["EarlyWarning:Scoring:Enabled"] = "false",
            ["EarlyWarning:Monitoring:Enabled"] = "false",
        },
    };

    public Task InitializeAsync() => _service.WaitUntilReadyAsync();

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private Task<T> Db<T>(Func<EarlyWarningDbContext, Task<T>> work) => _service.WithDbAsync(work);

    private IBus Bus => _service.Services.GetRequiredService<IBus>();

    private Task SeedAsync(string student, DateTimeOffset at) => Db(db =>
    {
        var day = DateOnly.FromDateTime(at.UtcDateTime);
        var alertId = Guid.NewGuid();
        db.AttendanceDays.AddRange(new AttendanceDay { StudentId = student, Date = day, Status = "absent" },
            new AttendanceDay { StudentId = student, Date = day.AddDays(-1), Status = "present" });
        db.RiskStates.Add(new StudentRiskState { StudentId = student, SchoolId = "gov", DaysEnrolled = 2, DaysAbsent = 1, UpdatedAt = at });
        db.Alerts.Add(new RiskAlert { AlertId = alertId, StudentId = student, SchoolId = "gov", Kind = "chronic-absence", Crossing = 1, Reason = "missed 1 of 2", RaisedAt = at });
        db.RiskScores.Add(new StudentRiskScore { StudentId = student, Kind = "chronic-absence", SchoolId = "gov", Band = "high", FactorsJson = "[]", ScoredAt = at });
        db.ScoreSnapshots.Add(new ScoreSnapshot { StudentId = student, Kind = "chronic-absence", WeekStart = day, SchoolId = "gov", ScoredAt = at });
        db.Outcomes.Add(new OutcomeLabel { StudentId = student, Kind = "chronic-absence", Outcome = "chronically-absent", KnownOn = day, RecordedAt = at });
        db.Feedback.Add(new AlertFeedback
        {
            FeedbackId = Guid.NewGuid(),
            AlertId = alertId,
            StudentId = student,
            AlertKind = "chronic-absence",
            Verdict = "false-alarm",
            Reason = $"{student} was ill",
            GivenBy = "c1",
            Source = "counselor",
            RecordedAt = at,
        });
        db.Demographics.Add(new StudentDemographics { StudentId = student, Sex = "F" });
        db.Publish(new RiskAlertRaised(alertId, student, "gov", "chronic-absence", "missed", 0.5, at));
        return db.SaveChangesAsync();
    });

    private Task<Dictionary<string, int>> RowsOfAsync(string student) => Db(async db => new Dictionary<string, int>
    {
        ["AttendanceDays"] = await db.AttendanceDays.CountAsync(x => x.StudentId == student),
        ["RiskStates"] = await db.RiskStates.CountAsync(x => x.StudentId == student),
        ["Alerts"] = await db.Alerts.CountAsync(x => x.StudentId == student),
        ["RiskScores"] = await db.RiskScores.CountAsync(x => x.StudentId == student),
        ["ScoreSnapshots"] = await db.ScoreSnapshots.CountAsync(x => x.StudentId == student),
        ["Outcomes"] = await db.Outcomes.CountAsync(x => x.StudentId == student),
        ["Feedback"] = await db.Feedback.CountAsync(x => x.StudentId == student),
        ["Demographics"] = await db.Demographics.CountAsync(x => x.StudentId == student),
        ["outbox"] = await db.Set<OutboxMessage>().CountAsync(m => m.Body.Contains($"\"StudentId\":\"{student}\"") && !m.MessageType.Contains(".StudentErasure")),
    });

    [Fact]
    public async Task Erasure_removes_the_student_keeps_the_other_confirms_with_counts_and_a_redelivery_changes_nothing()
    {
        var (a, b) = ($"gov-a-{Guid.NewGuid():N}"[..16], $"gov-b-{Guid.NewGuid():N}"[..16]);
        await SeedAsync(a, DateTimeOffset.UtcNow);
        await SeedAsync(b, DateTimeOffset.UtcNow);
        var before = await RowsOfAsync(b);

        var request = new StudentErasureRequested(Guid.NewGuid(), a, "test-admin", DateTimeOffset.UtcNow);
        await Bus.Publish(request);
        var first = Assert.Single(await ErasureProbe.WaitForConfirmationsAsync<EarlyWarningDbContext>(_service.Services, request.RequestId, 1));
        Assert.Equal("early-warning", first.GetProperty("Service").GetString());
        Assert.Equal(new Dictionary<string, int>
        {
            ["AttendanceDays"] = 2,
            ["RiskStates"] = 1,
            ["Alerts"] = 1,
            ["RiskScores"] = 1,
            ["ScoreSnapshots"] = 1,
            ["Outcomes"] = 1,
            ["Feedback"] = 1,
            ["Demographics"] = 1,
            ["outbox"] = 1,
        }, ErasureProbe.Rows(first));
        Assert.All(await RowsOfAsync(a), kv => Assert.True(kv.Value == 0, $"{kv.Key} still holds {kv.Value} row(s) of A"));
        Assert.Equal(before, await RowsOfAsync(b));

        await Bus.Publish(request);
        var both = await ErasureProbe.WaitForConfirmationsAsync<EarlyWarningDbContext>(_service.Services, request.RequestId, 2);
        Assert.Equal(2, both.Count);
        Assert.All(ErasureProbe.Rows(both[1]), kv => Assert.Equal(0, kv.Value));
        Assert.Equal(before, await RowsOfAsync(b));

        // Late demographics for A are ignored; the same event for another student is stored.
        var marker = $"gov-m-{Guid.NewGuid():N}"[..16];
        await Bus.Publish(new StudentDemographicsRecorded(a, "F", null, true, null, null, DateTimeOffset.UtcNow));
        await Bus.Publish(new StudentDemographicsRecorded(marker, "F", null, true, null, null, DateTimeOffset.UtcNow));
        Assert.Equal(1, await Eventually.WaitAsync(() => Db(db => db.Demographics.CountAsync(d => d.StudentId == marker)), n => n == 1, TimeSpan.FromSeconds(30)));
        await Task.Delay(500);
        Assert.Equal(0, await Db(db => db.Demographics.CountAsync(d => d.StudentId == a)));

        // Late attendance for A too (consumed in batches, which the consume filter does not see into).
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-3);
        await Bus.Publish(new AttendanceRecorded(a, "gov", day, "absent", false, DateTimeOffset.UtcNow));
        await Bus.Publish(new AttendanceRecorded(marker, "gov", day, "absent", false, DateTimeOffset.UtcNow));
        Assert.Equal(1, await Eventually.WaitAsync(() => Db(db => db.AttendanceDays.CountAsync(d => d.StudentId == marker)), n => n == 1, TimeSpan.FromSeconds(30)));
        await Task.Delay(500);
        Assert.Equal(0, await Db(db => db.AttendanceDays.CountAsync(d => d.StudentId == a)));
        Assert.Equal(0, await Db(db => db.RiskStates.CountAsync(d => d.StudentId == a)));
    }

    [Fact]
    public async Task Retention_purges_alerts_and_attendance_older_than_their_period_and_unset_kinds_keep_everything()
    {
        var (old, young) = ($"ret-o-{Guid.NewGuid():N}"[..16], $"ret-y-{Guid.NewGuid():N}"[..16]);
        await SeedAsync(old, DateTimeOffset.UtcNow.AddDays(-500));
        await SeedAsync(young, DateTimeOffset.UtcNow.AddDays(-30));

        using var http = _service.CreateClient();
        using var response = await http.PostAsync("/api/early-warning/v1/retention/run", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var kinds = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("kinds").EnumerateArray()
            .ToDictionary(k => k.GetProperty("kind").GetString()!);
        Assert.True(kinds["RiskAlerts"].GetProperty("deleted").GetInt32() >= 1);
        Assert.True(kinds["AttendanceDays"].GetProperty("deleted").GetInt32() >= 2);

        var oldRows = await RowsOfAsync(old);
        Assert.Equal(0, oldRows["Alerts"]);
        Assert.Equal(0, oldRows["AttendanceDays"]);
        Assert.Equal(1, oldRows["RiskScores"]);      // Retention:RiskScores unset: kept
        Assert.Equal(1, oldRows["Feedback"]);        // Retention:Feedback unset: kept
        var youngRows = await RowsOfAsync(young);
        Assert.Equal(1, youngRows["Alerts"]);
        Assert.Equal(2, youngRows["AttendanceDays"]);
    }
}
