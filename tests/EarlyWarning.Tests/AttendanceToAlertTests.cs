using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Storage;
using Beacon.Messaging;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.EarlyWarning.Tests;

/// <summary>Early warning hosted against the real RabbitMQ: attendance events in, alerts out (via the outbox).</summary>
public sealed class AttendanceToAlertTests : IAsyncLifetime
{
    private readonly ServiceFactory<Program> _service = new()
    {
        Settings = { ["EarlyWarning:ChronicAbsence:MinimumDays"] = "5" },
    };

    public Task InitializeAsync() => _service.WaitUntilReadyAsync();

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private async Task PublishDaysAsync(string studentId, string pattern, DateOnly firstDay)
    {
        var bus = _service.Services.GetRequiredService<IBus>();
        for (var i = 0; i < pattern.Length; i++)
        {
            var status = pattern[i] == 'A' ? "absent" : "present";
            await bus.Publish(new AttendanceRecorded(studentId, "school-t", firstDay.AddDays(i), status, false, DateTimeOffset.UtcNow));
        }
    }

    private Task<List<RiskAlert>> AlertsAsync(string studentId) =>
        _service.WithDbAsync<EarlyWarningDbContext, List<RiskAlert>>(db => db.Alerts.Where(a => a.StudentId == studentId).ToListAsync());

    private Task<int> UnsentOutboxAsync() =>
        _service.WithDbAsync<EarlyWarningDbContext, int>(db => db.Set<OutboxMessage>().CountAsync(m => m.SentAt == null));

    [Fact]
    public async Task Crossing_raises_one_alert_and_redelivered_days_raise_none()
    {
        var student = $"stu-{Guid.NewGuid():N}";
        var day1 = new DateOnly(2026, 9, 1);
        await PublishDaysAsync(student, "PPAPPAPP", day1);   // 2 of 5 at day 5 -> chronic
        var alerts = await Eventually.WaitAsync(() => AlertsAsync(student), a => a.Count > 0, TimeSpan.FromSeconds(60));
        Assert.Single(alerts);

        // The same eight days again (a redelivery or a re-sent file): nothing changes.
        await PublishDaysAsync(student, "PPAPPAPP", day1);
        var state = await Eventually.WaitAsync(
            () => _service.WithDbAsync<EarlyWarningDbContext, StudentRiskState?>(db => db.RiskStates.FindAsync(student).AsTask()),
            s => s?.DaysEnrolled == 8, TimeSpan.FromSeconds(60));
        await Task.Delay(1000);
        Assert.Single(await AlertsAsync(student));
        Assert.Equal(8, state!.DaysEnrolled);
        Assert.Equal(2, state.DaysAbsent);

        // The alert left through the outbox.
        Assert.Equal(0, await Eventually.WaitAsync(UnsentOutboxAsync, n => n == 0, TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task Ingestion_batches_apply_in_order_and_a_redelivered_batch_raises_no_second_alert()
    {
        var (student, other) = ($"stu-{Guid.NewGuid():N}", $"stu-{Guid.NewGuid():N}");
        var day1 = new DateOnly(2026, 9, 1);
        var bus = _service.Services.GetRequiredService<IBus>();
        AttendanceRecorded Day(string id, int i, string status, bool correction = false) =>
            new(id, "school-t", day1.AddDays(i), status, correction, DateTimeOffset.UtcNow);
        // One batch holds the crossing (day 5: 2 of 5 absent) and, later in the same batch, the corrections
        // that end it, interleaved with another student's days: order within the batch decides the outcome.
        var batch = new AttendanceBatchRecorded(
        [
            Day(student, 0, "present"), Day(other, 0, "present"), Day(student, 1, "absent"), Day(student, 2, "present"),
            Day(student, 3, "absent"), Day(other, 1, "present"), Day(student, 4, "present"), Day(student, 1, "present", correction: true),
            Day(student, 3, "present", correction: true),
        ]);
        var messageId = NewId.NextGuid();
        await bus.Publish(batch, ctx => ctx.MessageId = messageId);
        var state = await Eventually.WaitAsync(
            () => _service.WithDbAsync<EarlyWarningDbContext, StudentRiskState?>(db => db.RiskStates.FindAsync(student).AsTask()),
            s => s is { DaysEnrolled: 5, DaysAbsent: 0 }, TimeSpan.FromSeconds(60));
        Assert.False(state!.ChronicallyAbsent);
        Assert.Equal(1, state.Crossings);
        Assert.Single(await AlertsAsync(student));
        Assert.Empty(await AlertsAsync(other));

        // Redelivered (same message id, as after a crash between commit and acknowledgement): the inbox skips
        // it. Re-applied, its first absences would cross the line again and raise a second alert.
        await bus.Publish(batch, ctx => ctx.MessageId = messageId);
        await Task.Delay(1500);
        Assert.Single(await AlertsAsync(student));
        Assert.Equal(1, (await _service.WithDbAsync<EarlyWarningDbContext, StudentRiskState?>(db => db.RiskStates.FindAsync(student).AsTask()))!.Crossings);
    }

    [Fact]
    public async Task A_correction_that_ends_chronic_absence_lets_a_later_crossing_alert_again()
    {
        var student = $"stu-{Guid.NewGuid():N}";
        var day1 = new DateOnly(2026, 9, 1);
        var bus = _service.Services.GetRequiredService<IBus>();
        await PublishDaysAsync(student, "APPPP", day1);   // 1 of 5 = 20 % -> alert 1
        await Eventually.WaitAsync(() => AlertsAsync(student), a => a.Count == 1, TimeSpan.FromSeconds(60));

        // The absence was a data-entry error: corrected to present -> out of chronic absence.
        await bus.Publish(new AttendanceRecorded(student, "school-t", day1, "present", true, DateTimeOffset.UtcNow));
        await Eventually.WaitAsync(
            () => _service.WithDbAsync<EarlyWarningDbContext, bool?>(async db => (await db.RiskStates.FindAsync(student))?.ChronicallyAbsent),
            c => c == false, TimeSpan.FromSeconds(60));

        await PublishDaysAsync(student, "A", day1.AddDays(5));   // 1 of 6 = 17 % -> crossing again
        var alerts = await Eventually.WaitAsync(() => AlertsAsync(student), a => a.Count == 2, TimeSpan.FromSeconds(60));
        Assert.Equal([1, 2], alerts.Select(a => a.Crossing).Order());
    }
}
