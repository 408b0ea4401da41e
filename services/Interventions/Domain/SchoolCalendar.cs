namespace Beacon.Interventions.Domain;

/// <summary>School days are weekdays that are not listed holidays. Used for contact deadlines.</summary>
public sealed class SchoolCalendar(IEnumerable<DateOnly>? holidays = null)
{
    private readonly HashSet<DateOnly> _holidays = [.. holidays ?? []];

    public bool IsSchoolDay(DateOnly date) =>
        date.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday) && !_holidays.Contains(date);

    /// <summary>The school day that is <paramref name="schoolDays"/> school days after <paramref name="from"/> (from itself not counted).</summary>
    public DateOnly AddSchoolDays(DateOnly from, int schoolDays)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(schoolDays);
        var date = from;
        for (var left = schoolDays; left > 0;)
        {
            date = date.AddDays(1);
            if (IsSchoolDay(date))
            {
                left--;
            }
        }
        return date;
    }

    /// <summary>School days after <paramref name="from"/> up to and including <paramref name="to"/>.</summary>
    public int SchoolDaysBetween(DateOnly from, DateOnly to)
    {
        var count = 0;
        for (var d = from.AddDays(1); d <= to; d = d.AddDays(1))
        {
            if (IsSchoolDay(d))
            {
                count++;
            }
        }
        return count;
    }
}
