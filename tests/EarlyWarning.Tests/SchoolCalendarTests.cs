using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Domain;
using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Calendars;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.EarlyWarning.Tests;

/// <summary>School years and calendars: the rate counts the year's school days, and a new year starts the indicator afresh.</summary>
public sealed class SchoolCalendarTests : IAsyncLifetime
{
    // 2026-09-01 is a Tuesday; 2026-09-07 (Monday) is a holiday.
    private static readonly DateOnly First = new(2026, 9, 1), Holiday = new(2026, 9, 7);

    private readonly ServiceFactory<Program> _service = new() { Settings = { ["EarlyWarning:ChronicAbsence:MinimumDays"] = "5" } };

    public Task InitializeAsync() => _service.WaitUntilReadyAsync();

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private static SchoolYearCalendar Year2026() => new("2026-2027", First, new DateOnly(2027, 6, 18), new HashSet<DateOnly> { Holiday });

    [Fact]
    public void School_days_skip_weekends_and_holidays_and_a_school_adds_its_own_days_to_the_district_calendar()
    {
        // Sep 1-4 (4), Sep 7 holiday, Sep 8-11 (4), Sep 14-15 (2).
        Assert.Equal(10, Year2026().InstructionalDays(First, new DateOnly(2026, 9, 15)));
        var calendars = new SchoolCalendars(
        [
            new CalendarYearEntry(null, "2026-2027", First, new DateOnly(2027, 6, 18), [(Holiday, Holiday)]),
            new CalendarYearEntry("north", "2026-2027", null, null, [(new DateOnly(2026, 9, 14), new DateOnly(2026, 9, 15))]),
            new CalendarYearEntry(null, "2027-2028", new DateOnly(2027, 8, 30), new DateOnly(2028, 6, 16), []),
        ]);
        Assert.Equal(8, calendars.YearOf("north", new DateOnly(2026, 9, 15))!.InstructionalDays(First, new DateOnly(2026, 9, 15)));
        Assert.Equal(10, calendars.YearOf("south", new DateOnly(2026, 9, 15))!.InstructionalDays(First, new DateOnly(2026, 9, 15)));
        // A summer day belongs to the year just ended; the first day of the next starts the next.
        Assert.Equal("2026-2027", calendars.YearOf("south", new DateOnly(2027, 7, 20))!.Label);
        Assert.Equal("2027-2028", calendars.YearOf("south", new DateOnly(2027, 8, 30))!.Label);
        Assert.Null(calendars.YearOf("south", new DateOnly(2026, 8, 1)));
    }

    [Fact]
    public void An_absences_only_feed_is_counted_over_every_school_day_and_a_full_feed_from_the_first_record()
    {
        var options = new ChronicAbsenceOptions();
        var feed = new FeedReport(new DateOnly(2026, 9, 15), SendsPresentDays: false);
        SchoolDay[] absencesOnly = [new(new(2026, 9, 2), "absent"), new(new(2026, 9, 3), "absent"), new(Holiday, "absent")];
        Assert.Equal(new AttendanceSummary(10, 2), ChronicAbsenceIndicator.Summarize(EnrolledDays.Of(absencesOnly, Year2026(), feed), options));
        // A student whose records start on Sep 8 (present days too) enrolled then: 6 school days through Sep 15.
        SchoolDay[] lateStarter = [new(new(2026, 9, 8), "present"), new(new(2026, 9, 9), "absent")];
        Assert.Equal(new AttendanceSummary(6, 1), ChronicAbsenceIndicator.Summarize(EnrolledDays.Of(lateStarter, Year2026(), feed), options));
    }

    private async Task PublishAsync(object message) => await _service.Services.GetRequiredService<IBus>().Publish(message);

    private Task<StudentRiskState?> StateAsync(string student) =>
        _service.WithDbAsync<EarlyWarningDbContext, StudentRiskState?>(db => db.RiskStates.AsNoTracking().FirstOrDefaultAsync(s => s.StudentId == student));

    private Task<List<RiskAlert>> AlertsAsync(string student) =>
        _service.WithDbAsync<EarlyWarningDbContext, List<RiskAlert>>(db => db.Alerts.Where(a => a.StudentId == student && a.Kind == RiskKinds.ChronicAbsence).ToListAsync());

    private static AttendanceRecorded Day(string student, string school, DateOnly date, string status) => new(student, school, date, status, false, DateTimeOffset.UtcNow);

    [Fact]
    public async Task An_absences_only_feed_with_a_calendar_gives_the_rate_over_the_school_days_so_far()
    {
        var school = $"sch-{Guid.NewGuid():N}";
        var (student, other) = ($"stu-{Guid.NewGuid():N}", $"stu-{Guid.NewGuid():N}");
        await PublishAsync(new SchoolCalendarRecorded(null, $"y-{school}", First, new DateOnly(2027, 6, 18), [new NonInstructionalDays(Holiday, Holiday, "Labor Day")], DateTimeOffset.UtcNow));
        await Eventually.WaitAsync(() => _service.WithDbAsync<EarlyWarningDbContext, int>(db => db.CalendarYears.CountAsync(c => c.SchoolYear == $"y-{school}")),
            n => n == 1, TimeSpan.FromSeconds(60));
        // Another student's absence shows the school's feed has reported through Sep 15.
        await PublishAsync(new AttendanceBatchRecorded([Day(other, school, new DateOnly(2026, 9, 15), "absent")]));
        await Eventually.WaitAsync(() => StateAsync(other), s => s is not null, TimeSpan.FromSeconds(60));
        // Two absences and one on the holiday (not a school day): 2 of 10 school days, not 2 (or 3) of the 3 days with a record.
        await PublishAsync(new AttendanceBatchRecorded([Day(student, school, new DateOnly(2026, 9, 2), "absent"), Day(student, school, new DateOnly(2026, 9, 3), "absent"),
            Day(student, school, Holiday, "absent")]));
        var state = await Eventually.WaitAsync(() => StateAsync(student), s => s is not null, TimeSpan.FromSeconds(60));
        Assert.Equal((10, 2, true), (state!.DaysEnrolled, state.DaysAbsent, state.ChronicallyAbsent));
        Assert.Single(await AlertsAsync(student));
    }

    [Fact]
    public async Task A_new_school_year_resets_the_indicator_so_a_crossing_alerts_again()
    {
        var school = $"sch-{Guid.NewGuid():N}";
        var student = $"stu-{Guid.NewGuid():N}";
        var (year1, year2) = ($"{school}-1", $"{school}-2");
        var secondFirst = new DateOnly(2027, 8, 30);   // a Monday
        await PublishAsync(new SchoolCalendarRecorded(null, year1, First, new DateOnly(2027, 6, 18), [], DateTimeOffset.UtcNow));
        await PublishAsync(new SchoolCalendarRecorded(null, year2, secondFirst, new DateOnly(2028, 6, 16), [], DateTimeOffset.UtcNow));
        await Eventually.WaitAsync(() => _service.WithDbAsync<EarlyWarningDbContext, int>(db => db.CalendarYears.CountAsync(c => c.SchoolYear.StartsWith(school))),
            n => n == 2, TimeSpan.FromSeconds(60));

        // Year 1: 2 of the first 5 school days absent, then present to the end of the year: chronic in September (one alert).
        string[] pattern = ["absent", "present", "absent", "present", "present"];
        await PublishAsync(new AttendanceBatchRecorded([.. pattern.Select((s, i) => Day(student, school, First.AddDays(i < 4 ? i : i + 2), s))]));
        var state = await Eventually.WaitAsync(() => StateAsync(student), s => s?.DaysEnrolled == 5, TimeSpan.FromSeconds(60));
        Assert.True(state!.ChronicallyAbsent);
        Assert.Equal(year1, state.SchoolYear);

        // Year 2: absent on its first day and present on the next four. Counted over year 2 alone, 1 of 5 = 20 %: a new
        // crossing, a second alert. Counted over both years (no reset), the student would simply still be flagged.
        string[] second = ["absent", "present", "present", "present", "present"];
        await PublishAsync(new AttendanceBatchRecorded([.. second.Select((s, i) => Day(student, school, secondFirst.AddDays(i), s))]));
        state = await Eventually.WaitAsync(() => StateAsync(student), s => s?.SchoolYear == year2 && s.DaysEnrolled == 5, TimeSpan.FromSeconds(60));
        Assert.Equal((5, 1, true), (state!.DaysEnrolled, state.DaysAbsent, state.ChronicallyAbsent));
        var alerts = await Eventually.WaitAsync(() => AlertsAsync(student), a => a.Count == 2, TimeSpan.FromSeconds(60));
        Assert.Equal([1, 2], alerts.Select(a => a.Crossing).Order());
    }
}
