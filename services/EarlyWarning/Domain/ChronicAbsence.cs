using Beacon.RiskModels.Attendance;
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
    /// With a calendar: the student's school days as <see cref="EnrolledDays"/> counts them (every school day of the year
    /// they were enrolled through the date the feed has reported, a day without a record being a day present) and the
    /// absences among them. The models' inputs and the year-end outcomes count through the same code.
    /// </summary>
    public static AttendanceSummary Summarize(IEnumerable<SchoolDay> enrolledDays, ChronicAbsenceOptions options) =>
        Summarize(enrolledDays.Select(d => d.Status), options);

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
