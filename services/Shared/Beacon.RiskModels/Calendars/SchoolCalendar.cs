namespace Beacon.RiskModels.Calendars;

/// <summary>
/// One school year of one school's calendar: its first and last school day and the days without instruction in it.
/// Weekends are never school days (calendar feeds list holidays and breaks, not Saturdays).
/// </summary>
public sealed record SchoolYearCalendar(string Label, DateOnly FirstDay, DateOnly LastDay, IReadOnlySet<DateOnly> NonInstructional)
{
    public bool Contains(DateOnly day) => day >= FirstDay && day <= LastDay;

    public bool IsInstructional(DateOnly day) =>
        Contains(day) && day.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday) && !NonInstructional.Contains(day);

    /// <summary>School days from <paramref name="from"/> to <paramref name="through"/>, both included, clipped to the year.</summary>
    public int InstructionalDays(DateOnly from, DateOnly through)
    {
        var (start, end) = (from < FirstDay ? FirstDay : from, through > LastDay ? LastDay : through);
        var count = 0;
        for (var day = start; day <= end; day = day.AddDays(1))
        {
            count += IsInstructional(day) ? 1 : 0;
        }
        return count;
    }

    /// <summary>The n-th school day of the year (1-based), or null when the year has fewer.</summary>
    public DateOnly? SchoolDay(int n)
    {
        for (var day = FirstDay; day <= LastDay; day = day.AddDays(1))
        {
            if (IsInstructional(day) && --n == 0)
            {
                return day;
            }
        }
        return null;
    }
}

/// <summary>A calendar year as published: district-wide (School null) or one school's additions to it.</summary>
public sealed record CalendarYearEntry(string? School, string Label, DateOnly? FirstDay, DateOnly? LastDay, IReadOnlyList<(DateOnly From, DateOnly To)> NonInstructional);

/// <summary>
/// Every calendar a district sent, composed per school: a school's year takes the district's first and last day unless it
/// sent its own, and the district's non-instructional days plus its own.
/// </summary>
public sealed class SchoolCalendars
{
    public static readonly SchoolCalendars None = new([]);

    private readonly IReadOnlyList<CalendarYearEntry> _entries;
    private readonly Dictionary<string, IReadOnlyList<SchoolYearCalendar>> _bySchool = [];

    public SchoolCalendars(IReadOnlyList<CalendarYearEntry> entries) => _entries = entries;

    public bool IsEmpty => _entries.Count == 0;

    /// <summary>The school's years, earliest first (a year with no first and last day from either calendar is left out).</summary>
    public IReadOnlyList<SchoolYearCalendar> YearsOf(string schoolId)
    {
        if (_bySchool.TryGetValue(schoolId, out var years))
        {
            return years;
        }
        var list = new List<SchoolYearCalendar>();
        foreach (var label in _entries.Select(e => e.Label).Distinct())
        {
            var district = _entries.FirstOrDefault(e => e.School is null && e.Label == label);
            var own = _entries.FirstOrDefault(e => e.School == schoolId && e.Label == label);
            var (first, last) = own?.FirstDay is not null && own.LastDay is not null ? (own.FirstDay, own.LastDay) : (district?.FirstDay, district?.LastDay);
            if (first is null || last is null)
            {
                continue;
            }
            var off = new HashSet<DateOnly>();
            foreach (var (from, to) in (district?.NonInstructional ?? []).Concat(own?.NonInstructional ?? []))
            {
                for (var day = from; day <= to; day = day.AddDays(1))
                {
                    off.Add(day);
                }
            }
            list.Add(new SchoolYearCalendar(label, first.Value, last.Value, off));
        }
        return _bySchool[schoolId] = [.. list.OrderBy(y => y.FirstDay)];
    }

    /// <summary>
    /// The school year a date belongs to: the one containing it, else (in a summer) the latest that began before it; null
    /// when the date is before every known year or the school has no calendar.
    /// </summary>
    public SchoolYearCalendar? YearOf(string schoolId, DateOnly day) =>
        YearsOf(schoolId).LastOrDefault(y => y.FirstDay <= day);

    /// <summary>The school's year before <paramref name="year"/>, or null when none is held.</summary>
    public SchoolYearCalendar? YearBefore(string schoolId, SchoolYearCalendar year) =>
        YearsOf(schoolId).LastOrDefault(y => y.LastDay < year.FirstDay);

    /// <summary>
    /// The year a student's days are counted in as of <paramref name="day"/> (<see cref="YearOf"/>), or null when their
    /// latest record is after that year's last day: no calendar held covers it (the next year's not sent yet), so the days
    /// are counted as without a calendar rather than cut to a year that has ended.
    /// </summary>
    public SchoolYearCalendar? CountingYear(string schoolId, DateOnly day, DateOnly? latestRecord) =>
        YearOf(schoolId, day) is { } year && !(latestRecord > year.LastDay) ? year : null;
}
