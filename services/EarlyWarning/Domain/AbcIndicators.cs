using Beacon.Contracts.Events;

namespace Beacon.EarlyWarning.Domain;

/// <summary>
/// The transparent behaviour indicator. EWIMS (Therriault et al., 2013, AIR) flags "one or more suspensions";
/// Wisconsin DEWS and most SIS feeds carry the incident and its severity rather than the consequence, so a
/// <c>major</c> incident counts like a suspension, and so does a pile-up of smaller ones
/// (<see cref="IncidentsInWindow"/> within <see cref="WindowDays"/> calendar days of the latest incident).
/// </summary>
public sealed class BehaviorIndicatorOptions
{
    /// <summary>Categories that are themselves a removal from class (a suspension-like consequence).</summary>
    public string[] SuspensionCategories { get; set; } = ["in-school-suspension", "out-of-school-suspension", "expulsion"];

    /// <summary>Severities that count like a suspension.</summary>
    public string[] SuspensionSeverities { get; set; } = ["major"];

    /// <summary>This many incidents of any kind inside the window flag the student too.</summary>
    public int IncidentsInWindow { get; set; } = 3;

    /// <summary>About a term of calendar days, counted back from the latest incident.</summary>
    public int WindowDays { get; set; } = 90;
}

/// <summary>
/// The transparent course-performance indicator. EWIMS flags "one or more course failures" and "GPA ≤ 2.0";
/// on the percent marks the feeds carry, a failure is a mark below <see cref="PassingMark"/> and the GPA rule
/// is a term average below <see cref="LowAverage"/> (70 % is a C-, about 2.0 on the usual 4-point scale).
/// Only the student's current term counts: the term of their latest mark.
/// </summary>
public sealed class CoursePerformanceOptions
{
    public double PassingMark { get; set; } = 60;
    public int MinimumFailures { get; set; } = 1;
    public double LowAverage { get; set; } = 70;
}

public sealed record Incident(string IncidentId, DateOnly Date, string Category, string Severity);

public sealed record CourseMark(string CourseId, string Term, double MarkPercent, DateOnly Date);

/// <summary>One indicator's verdict with the numbers behind it; <see cref="Score"/> is what the alert carries.</summary>
public sealed record IndicatorReading(string Kind, bool Flagged, double Score, string Explanation);

public static class BehaviorIndicator
{
    public static IndicatorReading Evaluate(IReadOnlyCollection<Incident> incidents, BehaviorIndicatorOptions options)
    {
        if (incidents.Count == 0)
        {
            return new IndicatorReading(RiskKinds.Behavior, false, 0, "No behaviour incidents recorded.");
        }
        var latest = incidents.Max(i => i.Date);
        var since = latest.AddDays(-options.WindowDays + 1);
        var recent = incidents.Where(i => i.Date >= since).ToList();
        var suspensions = recent.Count(i => options.SuspensionCategories.Contains(i.Category) || options.SuspensionSeverities.Contains(i.Severity));
        var flagged = suspensions > 0 || recent.Count >= options.IncidentsInWindow;
        var explanation = $"{recent.Count} behaviour incident(s) in the {options.WindowDays} days to {latest:yyyy-MM-dd}"
            + (suspensions > 0 ? $", {suspensions} of them major or a suspension" : "")
            + (flagged
                ? "; at or above the behaviour line (a suspension-like incident, or " + options.IncidentsInWindow + " incidents)."
                : "; below the behaviour line.");
        return new IndicatorReading(RiskKinds.Behavior, flagged, recent.Count, explanation);
    }
}

public static class CoursePerformanceIndicator
{
    public static IndicatorReading Evaluate(IReadOnlyCollection<CourseMark> marks, CoursePerformanceOptions options)
    {
        if (marks.Count == 0)
        {
            return new IndicatorReading(RiskKinds.CoursePerformance, false, 0, "No course marks recorded.");
        }
        var term = marks.MaxBy(m => m.Date)!.Term;
        // The latest mark of each course this term; earlier marks of the same course show the trend.
        var courses = marks.Where(m => m.Term == term).GroupBy(m => m.CourseId)
            .Select(g => g.OrderBy(m => m.Date).ToList()).ToList();
        var current = courses.Select(c => c[^1]).ToList();
        var failures = current.Count(m => m.MarkPercent < options.PassingMark);
        var average = current.Average(m => m.MarkPercent);
        var falling = courses.Count(c => c.Count > 1 && c[^1].MarkPercent < c[0].MarkPercent - 10);
        var flagged = failures >= options.MinimumFailures || average < options.LowAverage;
        var explanation = $"Failing {failures} of {current.Count} course(s) in {term} (below {options.PassingMark:0} %), average {average:0} %"
            + (falling > 0 ? $", {falling} mark(s) down more than 10 points this term" : "")
            + (flagged
                ? $"; at or above the course-performance line ({options.MinimumFailures} failure(s) or an average below {options.LowAverage:0} %)."
                : "; below the course-performance line.");
        // The alert's score: the share of this term's courses failed (0 when flagged only by the average).
        return new IndicatorReading(RiskKinds.CoursePerformance, flagged, (double)failures / current.Count, explanation);
    }
}
