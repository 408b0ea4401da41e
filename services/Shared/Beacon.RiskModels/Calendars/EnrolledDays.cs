using Beacon.RiskModels.Attendance;

namespace Beacon.RiskModels.Calendars;

/// <summary>
/// How far a school's attendance feed had reported at some moment: the latest date any record of the school carried, and
/// whether the feed sends present days at all (a tardy does not say so: feeds of exceptions send absences and tardies). A feed reports whole days for the whole school, so a day up to
/// <see cref="Through"/> on which a student has no record is a day they were present (an absences-only feed says nothing
/// on such days); a day after it has not been reported yet and is not counted.
/// </summary>
public readonly record struct FeedReport(DateOnly Through, bool SendsPresentDays);

/// <summary>
/// A student's school days as counted with a calendar: the one piece of code the attendance indicator, the models' live
/// inputs, the year-end outcomes and the training sets from history all go through, so they cannot disagree about what an
/// absences-only feed means.
/// </summary>
public static class EnrolledDays
{
    /// <summary>
    /// Every school day of <paramref name="year"/> the student was enrolled through the date the feed had reported (and
    /// through <paramref name="asOf"/> when given), in date order, each with its recorded status or <c>present</c> where
    /// there is no record. Records on days without instruction or outside the year are left out.
    /// <para>Enrolment starts on the year's first day, unless the feed sends present days (the school's feed, or this
    /// student's own records): then a late starter is counted from their first record, and a student with no record at
    /// all has not started (no days). The student's own records count as reported too, so <paramref name="feed"/> may be
    /// null (nothing known of the school): then only they say how far the feed reached.</para>
    /// </summary>
    public static IReadOnlyList<SchoolDay> Of(IEnumerable<SchoolDay> recorded, SchoolYearCalendar year, FeedReport? feed, DateOnly? asOf = null)
    {
        var known = new Dictionary<DateOnly, string>();
        DateOnly? latest = feed?.Through;
        foreach (var day in recorded)
        {
            if (!year.IsInstructional(day.Date))
            {
                continue;
            }
            known[day.Date] = day.Status;
            latest = latest is null || day.Date > latest ? day.Date : latest;
        }
        if (latest is not { } through)
        {
            return [];
        }
        through = Earliest(through, asOf ?? through, year.LastDay);
        var sendsPresent = feed?.SendsPresentDays == true;
        DateOnly? first = null;
        foreach (var (date, status) in known)
        {
            if (date > through)
            {
                continue;
            }
            sendsPresent |= status == "present";
            first = first is null || date < first ? date : first;
        }
        if (sendsPresent && first is null)
        {
            return [];   // a feed that names every day has not named this student yet
        }
        var start = sendsPresent ? first!.Value : year.FirstDay;
        var days = new List<SchoolDay>();
        for (var day = start; day <= through; day = day.AddDays(1))
        {
            if (year.IsInstructional(day))
            {
                days.Add(new SchoolDay(day, known.TryGetValue(day, out var status) ? status : "present"));
            }
        }
        return days;
    }

    private static DateOnly Earliest(DateOnly a, DateOnly b, DateOnly c) => a < b ? (a < c ? a : c) : (b < c ? b : c);
}
