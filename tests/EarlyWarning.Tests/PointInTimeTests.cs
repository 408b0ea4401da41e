using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Monitoring;
using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.History;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.EarlyWarning.Tests;

/// <summary>Training sets from history see each record as it was known at the scoring point (real RabbitMQ): planted leaks must not show.</summary>
public sealed class PointInTimeTests : IAsyncLifetime
{
    // Mon 2025-09-01 to Fri 2026-06-12, no breaks: school day 10 is Fri 2025-09-12.
    private static readonly DateOnly First = new(2025, 9, 1), Point = new(2025, 9, 12);

    private readonly ServiceFactory<Program> _service = new() { Settings = { ["EarlyWarning:Monitoring:Enabled"] = "false" } };

    public Task InitializeAsync() => _service.WaitUntilReadyAsync();

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Fact]
    public void The_latest_version_known_by_the_point_is_used_and_later_days_or_corrections_are_not()
    {
        var early = new DateTimeOffset(2025, 9, 5, 8, 0, 0, TimeSpan.Zero);
        var late = PointInTime.EndOf(Point).AddTicks(1);
        KnownVersion<DateOnly, string> V(DateOnly day, string status, DateTimeOffset at, long seq = 0) => new(day, day, status, at, seq);
        var versions = new[]
        {
            V(new(2025, 9, 3), "present", early), V(new(2025, 9, 3), "absent", late),            // corrected after the point
            V(new(2025, 9, 4), "present", early, 1), V(new(2025, 9, 4), "absent", early, 2),     // corrected in the same upload
            V(new(2025, 9, 15), "absent", early),                                                 // a day after the point
        };
        Assert.Equal(["present", "absent"], PointInTime.AsKnown(versions, Point, PointInTime.EndOf(Point)).ToArray());
    }

    [Fact]
    public async Task A_training_set_from_history_ignores_corrections_that_arrived_after_the_point_and_days_after_it()
    {
        var p = $"p{Guid.NewGuid():N}"[..10];
        var year = $"{p}-year";
        var bus = _service.Services.GetRequiredService<IBus>();
        await bus.Publish(new SchoolCalendarRecorded(null, year, First, new DateOnly(2026, 6, 12), [], DateTimeOffset.UtcNow));
        var student = $"{p}-s";
        var arrived = new DateTimeOffset(2025, 9, 1, 18, 0, 0, TimeSpan.Zero);
        // Each of the first ten school days arrived on its evening: absent on the 3rd day, present otherwise.
        var days = Enumerable.Range(0, 19).Select(i => First.AddDays(i)).Where(d => d.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday)).ToList();
        AttendanceRecorded Day(DateOnly d, string status, DateTimeOffset at, bool correction = false) => new(student, "north", d, status, correction, at);
        await bus.Publish(new AttendanceBatchRecorded([.. days.Take(10).Select((d, i) => Day(d, i == 2 ? "absent" : "present", arrived.AddDays(d.DayNumber - First.DayNumber)))]));
        // Planted leaks: a correction of day 1 to absent that arrived a month after the point, and absences after the point.
        await bus.Publish(new AttendanceBatchRecorded([Day(First, "absent", new DateTimeOffset(2025, 10, 14, 9, 0, 0, TimeSpan.Zero), correction: true),
            .. days.Skip(10).Select(d => Day(d, "absent", arrived.AddDays(d.DayNumber - First.DayNumber)))]));
        await Eventually.WaitAsync(() => _service.WithDbAsync<EarlyWarningDbContext, int>(db => db.AttendanceVersions.CountAsync(v => v.StudentId == student)),
            n => n == 10 + 1 + days.Count - 10, TimeSpan.FromSeconds(60));
        await Eventually.WaitAsync(() => _service.WithDbAsync<EarlyWarningDbContext, int>(db => db.CalendarYears.CountAsync(c => c.SchoolYear == year)), n => n == 1, TimeSpan.FromSeconds(60));
        await _service.WithDbAsync<EarlyWarningDbContext, int>(db =>
        {
            db.YearOutcomes.Add(new YearOutcomeRow { StudentId = student, Kind = AttendanceFeatures.Kind, SchoolYear = year, Outcome = "chronically-absent", AtRisk = true, KnownOn = new DateOnly(2026, 6, 12) });
            return db.SaveChangesAsync();
        });

        using var scope = _service.Services.CreateScope();
        var set = await scope.ServiceProvider.GetRequiredService<HistoryTrainingSet>().BuildAsync(AttendanceFeatures.Kind, 10, [year], default);
        var example = Assert.Single(set);
        Assert.Equal((Point, true), (example.Point, example.Label));
        // As known at the end of school day 10: ten days, one absence (day 3).
        var asKnown = AttendanceFeatures.Compute(days.Take(10).Select((d, i) => new SchoolDay(d, i == 2 ? "absent" : "present")));
        Assert.Equal(asKnown, example.Features);
        // What the projection holds now differs (day 1 corrected, later absences): using it would be the leak this guards against.
        var leaked = AttendanceFeatures.Compute(days.Select((d, i) => new SchoolDay(d, i is 0 or 2 || i >= 10 ? "absent" : "present")).Where(d => d.Date <= Point));
        Assert.NotEqual(leaked, example.Features);
    }
}
