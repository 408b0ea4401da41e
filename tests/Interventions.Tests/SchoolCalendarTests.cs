using Beacon.Interventions.Domain;

namespace Beacon.Interventions.Tests;

public sealed class SchoolCalendarTests
{
    // 2026-11-06 is a Friday.
    private static readonly DateOnly Friday = new(2026, 11, 6);

    [Fact]
    public void Three_school_days_after_a_friday_is_the_next_wednesday()
    {
        Assert.Equal(new DateOnly(2026, 11, 11), new SchoolCalendar().AddSchoolDays(Friday, 3));
    }

    [Fact]
    public void A_case_opened_on_a_saturday_counts_from_monday()
    {
        Assert.Equal(new DateOnly(2026, 11, 9), new SchoolCalendar().AddSchoolDays(Friday.AddDays(1), 1));
    }

    [Fact]
    public void Holidays_are_skipped()
    {
        var calendar = new SchoolCalendar([new DateOnly(2026, 11, 9), new DateOnly(2026, 11, 10)]);
        Assert.Equal(new DateOnly(2026, 11, 13), calendar.AddSchoolDays(Friday, 3));
        Assert.False(calendar.IsSchoolDay(new DateOnly(2026, 11, 9)));
    }

    [Fact]
    public void Zero_days_is_the_same_day()
    {
        Assert.Equal(Friday, new SchoolCalendar().AddSchoolDays(Friday, 0));
    }

    [Fact]
    public void School_days_between_skip_the_weekend()
    {
        var calendar = new SchoolCalendar();
        Assert.Equal(0, calendar.SchoolDaysBetween(Friday, Friday.AddDays(2)));   // to Sunday
        Assert.Equal(1, calendar.SchoolDaysBetween(Friday, Friday.AddDays(3)));   // to Monday
        Assert.Equal(5, calendar.SchoolDaysBetween(Friday, Friday.AddDays(7)));   // to the next Friday
    }
}
