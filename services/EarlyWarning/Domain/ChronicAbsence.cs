using Beacon.RiskModels.Calendars;

namespace Beacon.EarlyWarning.Domain;

/// <summary>
/// The transparent ABC attendance indicator: a student is chronically absent once they have missed
/// <see cref="Threshold"/> (10 %) or more of the school days enrolled so far, counted only after
/// <see cref="MinimumDays"/> days so that one absence in week one does not flag anyone.
/// </summary>
public sealed class ChronicAbsenceOptions
{
    public double Threshold { get; set; } = 0.10;
    public int MinimumDays { get; set; } = 10;

    /// <summary>The common (US federal) definition counts excused absences too; districts may choose otherwise.</summary>
    public bool CountExcusedAbsences { get; set; } = true;
}

public sealed record AttendanceSummary(int DaysEnrolled, int DaysAbsent)
{
    public double AbsenceRate => DaysEnrolled == 0 ? 0 : (double)DaysAbsent / DaysEnrolled;
}

public sealed record ChronicAbsenceReading(AttendanceSummary Summary, bool ChronicallyAbsent, string Explanation);

public static class ChronicAbsenceIndicator
{
    public static bool IsAbsence(string status, ChronicAbsenceOptions options) => status switch
    {
        "absent" => true,
        "excused-absent" => options.CountExcusedAbsences,
        _ => false,   // present, tardy
    };

    public static AttendanceSummary Summarize(IEnumerable<string> dailyStatuses, ChronicAbsenceOptions options)
    {
        int enrolled = 0, absent = 0;
        foreach (var status in dailyStatuses)
        {
            enrolled++;
            if (IsAbsence(status, options))
            {
                absent++;
            }
        }
        return new AttendanceSummary(enrolled, absent);
    }

    /// <summary>
    /// With a calendar: the school days of <paramref name="year"/> the student was enrolled through <paramref name="asOf"/>,
    /// and the absences among them. Records on days without instruction, or outside the year, do not count. A feed that sends
    /// present (or tardy) days says when the student started, so enrolment counts from their first record; an absences-only
    /// feed does not, so it counts from the year's first day. Either way every school day through the date counts, recorded
    /// or not: a day with no record from an absences-only feed is a day present.
    /// </summary>
    public static AttendanceSummary Summarize(IEnumerable<KeyValuePair<DateOnly, string>> days, SchoolYearCalendar year, DateOnly asOf, ChronicAbsenceOptions options)
    {
        var through = asOf > year.LastDay ? year.LastDay : asOf;
        int recorded = 0, absent = 0;
        DateOnly? first = null;
        var saysPresent = false;
        foreach (var (date, status) in days)
        {
            if (date > through || !year.IsInstructional(date))
            {
                continue;
            }
            recorded++;
            absent += IsAbsence(status, options) ? 1 : 0;
            saysPresent |= status is "present" or "tardy";
            first = first is null || date < first ? date : first;
        }
        var start = saysPresent && first is not null ? first.Value : year.FirstDay;
        return new AttendanceSummary(Math.Max(recorded, year.InstructionalDays(start, through)), absent);
    }

    public static ChronicAbsenceReading Evaluate(AttendanceSummary summary, ChronicAbsenceOptions options)
    {
        var chronic = summary.DaysEnrolled >= options.MinimumDays && summary.AbsenceRate >= options.Threshold;
        var explanation = summary.DaysEnrolled < options.MinimumDays
            ? $"Only {summary.DaysEnrolled} school day(s) recorded; the indicator starts after {options.MinimumDays}."
            : $"Missed {summary.DaysAbsent} of {summary.DaysEnrolled} school days so far ({summary.AbsenceRate:P0}); "
              + (chronic ? $"at or above the {options.Threshold:P0} chronic-absence line." : $"below the {options.Threshold:P0} chronic-absence line.");
        return new ChronicAbsenceReading(summary, chronic, explanation);
    }

    /// <summary>An alert is due only when the student crosses into chronic absence, not while they stay there.</summary>
    public static bool IsCrossingIn(bool wasChronic, ChronicAbsenceReading now) => !wasChronic && now.ChronicallyAbsent;
}
