using Beacon.EarlyWarning.Domain;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Calendars;
using Beacon.RiskModels.Dropout;

namespace Beacon.EarlyWarning.Tests;

/// <summary>
/// The one count of school days (EnrolledDays) the indicator, the models' live inputs and the training sets go through:
/// an absences-only feed is counted as the full feed it stands for, up to the date the school's feed has reported.
/// </summary>
public sealed class EnrolledDaysTests
{
    // Mon 2026-08-31 to Fri 2027-06-11; Mon 2026-09-07 is a holiday. School days 1-5: Aug 31-Sep 4, 6-10: Sep 8-11 and 14.
    private static readonly DateOnly First = new(2026, 8, 31), Holiday = new(2026, 9, 7);
    private static readonly SchoolYearCalendar Year = new("2026-2027", First, new DateOnly(2027, 6, 11), new HashSet<DateOnly> { Holiday });

    private static DateOnly Day(int n) => Year.SchoolDay(n)!.Value;

    /// <summary>A full feed's days through school day <paramref name="days"/>: every day recorded, the given ones absent.</summary>
    private static List<SchoolDay> Full(int days, params int[] absent) =>
        [.. Enumerable.Range(1, days).Select(n => new SchoolDay(Day(n), absent.Contains(n) ? "absent" : "present"))];

    private static List<SchoolDay> AbsencesOnly(params int[] absent) => [.. absent.Select(n => new SchoolDay(Day(n), "absent"))];

    [Fact]
    public void An_absences_only_feed_gives_the_days_inputs_and_rate_of_the_full_feed_it_stands_for()
    {
        var through = Day(25);
        int[] absent = [3, 4, 11, 20, 21, 25];
        var full = EnrolledDays.Of(Full(25, absent), Year, new FeedReport(through, SendsPresentDays: true));
        // A record on the holiday is not a school day, so it is dropped from both.
        var sparse = EnrolledDays.Of([.. AbsencesOnly(absent), new SchoolDay(Holiday, "absent")], Year, new FeedReport(through, SendsPresentDays: false));
        Assert.Equal(25, full.Count);
        Assert.Equal(full, sparse);
        Assert.Equal(AttendanceFeatures.Compute(full), AttendanceFeatures.Compute(sparse));
        Assert.Equal(K12DropoutFeatures.Compute(StudentSignals.None with { Days = full }, through), K12DropoutFeatures.Compute(StudentSignals.None with { Days = sparse }, through));
        var options = new ChronicAbsenceOptions();
        Assert.Equal(new AttendanceSummary(25, 6), ChronicAbsenceIndicator.Summarize(sparse, options));
        // Read as the days with a record, the same feed is absent on every day it names.
        Assert.Equal(1f, AttendanceFeatures.Compute(AbsencesOnly(absent))[AttendanceFeatures.Set.IndexOf("absence_rate")]);
    }

    [Fact]
    public void Days_are_counted_through_the_date_the_school_reported_not_the_students_last_record_nor_beyond()
    {
        // The school reported through day 12: a student last absent on day 3 was present on days 4-12, and days 13 on are
        // not known yet (not present), whatever date the score is asked for.
        var days = EnrolledDays.Of(AbsencesOnly(2, 3), Year, new FeedReport(Day(12), false), asOf: Day(30));
        Assert.Equal(Enumerable.Range(1, 12).Select(Day), days.Select(d => d.Date));
        Assert.Equal(2, days.Count(d => d.IsAbsent));
        // A date before the report cuts the count there.
        Assert.Equal(5, EnrolledDays.Of(AbsencesOnly(2, 3), Year, new FeedReport(Day(12), false), asOf: Day(5)).Count);
        // The student's own record is a report too (nothing else known of the school yet).
        Assert.Equal(8, EnrolledDays.Of(AbsencesOnly(8), Year, feed: null).Count);
        // The year's last day ends the count.
        Assert.Equal(Year.InstructionalDays(First, Year.LastDay), EnrolledDays.Of(AbsencesOnly(8), Year, new FeedReport(new DateOnly(2027, 7, 20), false)).Count);
    }

    [Fact]
    public void A_feed_that_sends_present_days_counts_from_a_students_first_record_and_not_one_it_never_named()
    {
        var feed = new FeedReport(Day(10), SendsPresentDays: true);
        // A late starter in a full feed: from their first record (day 6), even if it is an absence.
        Assert.Equal(Enumerable.Range(6, 5).Select(Day), EnrolledDays.Of(AbsencesOnly(6), Year, feed).Select(d => d.Date));
        // A student the full feed has not named: not enrolled (yet), no days.
        Assert.Empty(EnrolledDays.Of([], Year, feed));
        // A feed of exceptions (absences and tardies) does not send present days: counted from the year's first day.
        var exceptions = EnrolledDays.Of([new SchoolDay(Day(4), "tardy"), new SchoolDay(Day(7), "absent")], Year, new FeedReport(Day(10), false));
        Assert.Equal(10, exceptions.Count);
        Assert.Equal(["tardy", "absent"], exceptions.Where(d => d.Status != "present").Select(d => d.Status));
        // An absences-only feed that has named nobody yet for this student: enrolled from the first day, present throughout.
        Assert.Equal(10, EnrolledDays.Of([], Year, new FeedReport(Day(10), false)).Count);
    }

    [Fact]
    public void Records_after_every_known_year_are_counted_as_without_a_calendar_and_a_summer_rescore_counts_the_year_just_ended()
    {
        var calendars = new SchoolCalendars([new CalendarYearEntry(null, Year.Label, Year.FirstDay, Year.LastDay, [(Holiday, Holiday)])]);
        var summer = new DateOnly(2027, 7, 20);
        Assert.Equal(Year.Label, calendars.CountingYear("north", summer, latestRecord: new DateOnly(2027, 6, 10))?.Label);
        // Attendance of a year whose calendar has not come yet: no year to cut it to.
        Assert.Null(calendars.CountingYear("north", new DateOnly(2027, 9, 1), latestRecord: new DateOnly(2027, 9, 1)));
        Assert.Null(calendars.CountingYear("north", new DateOnly(2026, 8, 1), latestRecord: null));
    }
}
