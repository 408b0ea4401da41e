using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.Interventions.Domain;
using Beacon.Interventions.Storage;
using Beacon.ServiceDefaults;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.Interventions.Tests;

/// <summary>Erasure and retention in Interventions against the real broker.</summary>
public sealed class GovernanceTests : IAsyncLifetime
{
    private readonly ServiceFactory<Program> _service = new() { Settings = { ["Retention:EndedCases"] = "P1Y" } };

    public Task InitializeAsync() => _service.WaitUntilReadyAsync();

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private Task<T> Db<T>(Func<InterventionsDbContext, Task<T>> work) => _service.WithDbAsync(work);

    private IBus Bus => _service.Services.GetRequiredService<IBus>();

    private Task<Guid> SeedCaseAsync(string student, DateTimeOffset openedAt, DateTimeOffset? endedAt) => Db(async db =>
    {
        var caseId = Guid.NewGuid();
        db.Cases.Add(new InterventionCase
        {
            CaseId = caseId,
            StudentId = student,
            SchoolId = "gov",
            Reason = "chronic absence",
            OpenedAt = openedAt,
            Status = endedAt is null ? CaseStatuses.Open : CaseStatuses.Closed,
            EndedAt = endedAt,
            Outcome = endedAt is null ? null : Outcomes.Improved,
            Alerts = [new CaseAlert { AlertId = Guid.NewGuid(), CaseId = caseId, Kind = "chronic-absence", RaisedAt = openedAt }],
            Activity =
            [
                new CaseActivity { CaseId = caseId, At = openedAt, Kind = "opened", By = "alert", Text = "opened" },
                new CaseActivity { CaseId = caseId, At = openedAt, Kind = "note", By = "c1", Text = $"Called the family of {student}; the mother says he is ill." },
            ],
        });
        db.Attendance.Add(new AttendanceDay { StudentId = student, Date = DateOnly.FromDateTime(openedAt.UtcDateTime), SchoolId = "gov", Status = "absent" });
        db.Publish(new InterventionCaseOpened(caseId, null, student, "gov", openedAt));
        await db.SaveChangesAsync();
        return caseId;
    });

    private Task<Dictionary<string, int>> RowsOfAsync(string student) => Db(async db =>
    {
        var cases = db.Cases.Where(c => c.StudentId == student).Select(c => c.CaseId);
        return new Dictionary<string, int>
        {
            ["CaseAlerts"] = await db.CaseAlerts.CountAsync(a => cases.Contains(a.CaseId)),
            ["Activity"] = await db.Activity.CountAsync(a => cases.Contains(a.CaseId)),
            ["Cases"] = await cases.CountAsync(),
            ["Attendance"] = await db.Attendance.CountAsync(a => a.StudentId == student),
            ["outbox"] = await db.Set<OutboxMessage>().CountAsync(m => m.Body.Contains($"\"StudentId\":\"{student}\"") && !m.MessageType.Contains(".StudentErasure")),
        };
    });

    [Fact]
    public async Task Erasure_removes_the_student_keeps_the_other_confirms_with_counts_and_a_redelivery_changes_nothing()
    {
        var (a, b) = ($"gov-a-{Guid.NewGuid():N}"[..16], $"gov-b-{Guid.NewGuid():N}"[..16]);
        await SeedCaseAsync(a, DateTimeOffset.UtcNow, null);
        await SeedCaseAsync(b, DateTimeOffset.UtcNow, null);
        var before = await RowsOfAsync(b);

        var request = new StudentErasureRequested(Guid.NewGuid(), a, "test-admin", DateTimeOffset.UtcNow);
        await Bus.Publish(request);
        var first = Assert.Single(await ErasureProbe.WaitForConfirmationsAsync<InterventionsDbContext>(_service.Services, request.RequestId, 1));
        Assert.Equal("interventions", first.GetProperty("Service").GetString());
        Assert.Equal(new Dictionary<string, int> { ["CaseAlerts"] = 1, ["Activity"] = 2, ["Cases"] = 1, ["Attendance"] = 1, ["outbox"] = 1 }, ErasureProbe.Rows(first));
        Assert.All(await RowsOfAsync(a), kv => Assert.True(kv.Value == 0, $"{kv.Key} still holds {kv.Value} row(s) of A"));
        Assert.Equal(0, await Db(db => db.Activity.CountAsync(x => x.Text.Contains(a))));
        Assert.Equal(before, await RowsOfAsync(b));

        await Bus.Publish(request);
        var both = await ErasureProbe.WaitForConfirmationsAsync<InterventionsDbContext>(_service.Services, request.RequestId, 2);
        Assert.Equal(2, both.Count);
        Assert.All(ErasureProbe.Rows(both[1]), kv => Assert.Equal(0, kv.Value));
        Assert.Equal(before, await RowsOfAsync(b));

        // Late attendance for A is ignored; the same event for another student is projected.
        var marker = $"gov-m-{Guid.NewGuid():N}"[..16];
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-3);
        await Bus.Publish(new AttendanceRecorded(a, "gov", day, "absent", false, DateTimeOffset.UtcNow));
        await Bus.Publish(new AttendanceRecorded(marker, "gov", day, "absent", false, DateTimeOffset.UtcNow));
        Assert.Equal(1, await Eventually.WaitAsync(() => Db(db => db.Attendance.CountAsync(x => x.StudentId == marker)), n => n == 1, TimeSpan.FromSeconds(30)));
        await Task.Delay(500);
        Assert.Equal(0, await Db(db => db.Attendance.CountAsync(x => x.StudentId == a)));
    }

    [Fact]
    public async Task Retention_purges_cases_ended_before_the_period_with_their_notes_and_keeps_recent_and_active_ones()
    {
        var (old, recent, active) = ($"ret-o-{Guid.NewGuid():N}"[..16], $"ret-r-{Guid.NewGuid():N}"[..16], $"ret-a-{Guid.NewGuid():N}"[..16]);
        var oldCase = await SeedCaseAsync(old, DateTimeOffset.UtcNow.AddYears(-3), DateTimeOffset.UtcNow.AddYears(-2));
        await SeedCaseAsync(recent, DateTimeOffset.UtcNow.AddDays(-60), DateTimeOffset.UtcNow.AddDays(-30));
        await SeedCaseAsync(active, DateTimeOffset.UtcNow.AddYears(-3), null);

        using var http = _service.CreateClient();
        using var response = await http.PostAsync("/api/interventions/v1/retention/run", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var kinds = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("kinds").EnumerateArray()
            .ToDictionary(k => k.GetProperty("kind").GetString()!);
        Assert.True(kinds["EndedCases"].GetProperty("deleted").GetInt32() >= 1);
        Assert.Equal(JsonValueKind.Null, kinds["AttendanceDays"].GetProperty("period").ValueKind);

        Assert.Equal(0, (await RowsOfAsync(old))["Cases"]);
        Assert.Equal(0, await Db(db => db.Activity.CountAsync(x => x.CaseId == oldCase)));
        Assert.Equal(1, (await RowsOfAsync(old))["Attendance"]);   // Retention:AttendanceDays unset: kept
        Assert.Equal(1, (await RowsOfAsync(recent))["Cases"]);
        Assert.Equal(2, (await RowsOfAsync(active))["Activity"]);
    }
}
