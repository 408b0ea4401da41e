using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Calendars;

namespace Beacon.RiskModels.History;

/// <summary>A student's attendance over the previous school year, counted as the indicator counts (EnrolledDays).</summary>
public sealed record PriorYearAttendance(int Days, int Absent)
{
    public double Rate => Days == 0 ? 0 : (double)Absent / Days;
}

/// <summary>
/// The previous school year as an input, for models trained on the district's own history (issue #19): early in a year
/// (school day 20) absence so far is nearly the only signal, and last year's absence rate and whether the student ended
/// it chronically absent say much about this one. The inputs are appended to a kind's set, so a model trained without them
/// (every synthetic cold start) keeps its schema and one trained with them names them on its card.
/// </summary>
public static class PriorYear
{
    public const string DaysFeature = "prior_year_days", RateFeature = "prior_year_absence_rate", ChronicFeature = "prior_year_chronic";

    /// <summary>The chronic-absence line (the indicator's defaults: 10 % after 10 days).</summary>
    public const double ChronicRate = 0.10;
    public const int MinimumDays = 10;

    private static readonly FeatureDefinition[] Definitions =
    [
        new(DaysFeature, (f, s) => Known(f, s) ? $"{(int)f[s.IndexOf(DaysFeature)]} school days recorded last year" : "no attendance known from last year",
            (_, _) => ReasonLeaning.NotAReason),
        new(RateFeature, (f, s) => Known(f, s) ? $"absent on {f[s.IndexOf(RateFeature)]:P0} of school days last year" : "no attendance known from last year",
            (f, s) => Known(f, s) ? ReasonLeaning.Either : ReasonLeaning.NotAReason),
        new(ChronicFeature, (f, s) => f[s.IndexOf(ChronicFeature)] >= 0.5f ? "chronically absent last year" : "not chronically absent last year",
            (f, s) => !Known(f, s) ? ReasonLeaning.NotAReason : f[s.IndexOf(ChronicFeature)] >= 0.5f ? ReasonLeaning.RaisesRisk : ReasonLeaning.LowersRisk),
    ];

    private static bool Known(IReadOnlyList<float> f, FeatureSet s) => f[s.IndexOf(DaysFeature)] > 0;

    /// <summary>The kind's inputs followed by the previous year's.</summary>
    public static FeatureSet Extend(FeatureSet set) => new(set.Kind, [.. set.Features, .. Definitions]);

    /// <summary>Whether a model's stored schema includes the previous year.</summary>
    public static bool IsIn(IReadOnlyList<string>? names) => names is not null && names.Contains(DaysFeature);

    /// <summary>A student's inputs with the previous year's appended (zeros when nothing is known of it).</summary>
    public static float[] Append(float[] features, PriorYearAttendance? prior) =>
    [
        .. features,
        prior?.Days ?? 0,
        (float)(prior?.Rate ?? 0),
        prior is { Days: >= MinimumDays } p && p.Rate >= ChronicRate ? 1f : 0f,
    ];

    /// <summary>
    /// The student's previous year from their records (any dates: only those in <paramref name="previous"/> count), over the
    /// whole year (it has ended); null when there is no previous year or no record of the student in it.
    /// </summary>
    public static PriorYearAttendance? Of(IEnumerable<SchoolDay> recorded, SchoolYearCalendar? previous, bool feedSendsPresentDays)
    {
        if (previous is null)
        {
            return null;
        }
        var inYear = recorded.Where(d => previous.Contains(d.Date)).ToList();
        if (inYear.Count == 0)
        {
            return null;
        }
        var days = EnrolledDays.Of(inYear, previous, new FeedReport(previous.LastDay, feedSendsPresentDays));
        return days.Count == 0 ? null : new PriorYearAttendance(days.Count, days.Count(d => d.IsAbsent));
    }
}
