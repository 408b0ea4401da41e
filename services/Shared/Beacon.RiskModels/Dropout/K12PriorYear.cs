using Beacon.RiskModels.Calendars;
using Beacon.RiskModels.History;

namespace Beacon.RiskModels.Dropout;

/// <summary>
/// A student's previous school year as the dropout model reads it: attendance counted as the indicator counts it
/// (<see cref="PriorYear"/>), and the behaviour incidents and course marks dated in that year.
/// </summary>
public sealed record PriorYearRecord(PriorYearAttendance? Attendance, IReadOnlyList<IncidentSignal> Incidents, IReadOnlyList<MarkSignal> Marks)
{
    /// <summary>
    /// The student's previous year from everything recorded of them (any dates: only those in <paramref name="previous"/>
    /// count); null when there is no previous year or nothing of the student in it.
    /// </summary>
    public static PriorYearRecord? Of(StudentSignals recorded, SchoolYearCalendar? previous, bool feedSendsPresentDays)
    {
        if (previous is null)
        {
            return null;
        }
        var record = new PriorYearRecord(PriorYear.Of(recorded.Days, previous, feedSendsPresentDays),
            [.. recorded.Incidents.Where(i => previous.Contains(i.Date))], [.. recorded.Marks.Where(m => previous.Contains(m.Date))]);
        return record.Attendance is null && record.Incidents.Count == 0 && record.Marks.Count == 0 ? null : record;
    }
}

/// <summary>
/// The previous school year as inputs of the dropout model. Early in a year a student's behaviour shows only in a few
/// incidents, and prior-year suspensions, course failures and attendance are among the strongest predictors early-warning
/// systems use (EWIMS; Balfanz; Wisconsin DEWS reads the prior year): last year's incidents by severity, suspensions,
/// failed courses and mean mark, after <see cref="PriorYear"/>'s attendance inputs. Appended to the kind's set, so a
/// model trained without them keeps its schema and one trained with them names them on its card.
/// </summary>
public static class K12PriorYear
{
    public const string MinorFeature = "prior_year_incidents_minor", ModerateFeature = "prior_year_incidents_moderate",
        MajorFeature = "prior_year_incidents_major", SuspensionsFeature = "prior_year_suspensions", GradedFeature = "prior_year_courses_graded",
        FailedFeature = "prior_year_courses_failed", MeanMarkFeature = "prior_year_mean_mark";

    /// <summary>Last year's mean mark when none is known: the same neutral stand-in as this year's (a mark that neither helps nor hurts).</summary>
    private const float NoMark = 75;

    private static readonly FeatureDefinition[] Definitions =
    [
        Count(MinorFeature, "minor behaviour incident(s) last year"),
        Count(ModerateFeature, "moderate behaviour incident(s) last year"),
        Count(MajorFeature, "major behaviour incident(s) last year"),
        Count(SuspensionsFeature, "suspension(s) last year"),
        new(GradedFeature, (f, s) => $"{N(f, s, GradedFeature)} course(s) graded last year", (_, _) => ReasonLeaning.NotAReason),
        new(FailedFeature, (f, s) => N(f, s, GradedFeature) == 0 ? "no course marks known from last year"
            : N(f, s, FailedFeature) is var n and > 0 ? $"failed {n} of {N(f, s, GradedFeature)} courses last year" : $"passed all {N(f, s, GradedFeature)} courses last year",
            (f, s) => N(f, s, GradedFeature) == 0 ? ReasonLeaning.NotAReason : N(f, s, FailedFeature) > 0 ? ReasonLeaning.RaisesRisk : ReasonLeaning.LowersRisk),
        new(MeanMarkFeature, (f, s) => N(f, s, GradedFeature) == 0 ? "no course marks known from last year" : $"average mark {f[s.IndexOf(MeanMarkFeature)]:0} % last year",
            (f, s) => N(f, s, GradedFeature) == 0 ? ReasonLeaning.NotAReason : ReasonLeaning.Either),
    ];

    /// <summary>The dropout model's inputs followed by the previous year's (attendance, then behaviour and marks).</summary>
    public static readonly FeatureSet Set = Extend(K12DropoutFeatures.Set);

    public static FeatureSet Extend(FeatureSet set) => new(set.Kind, [.. PriorYear.Extend(set).Features, .. Definitions]);

    /// <summary>Whether a model's stored schema includes last year's behaviour and marks (not only its attendance).</summary>
    public static bool IsIn(IReadOnlyList<string>? names) => names is not null && names.Contains(SuspensionsFeature);

    /// <summary>A student's inputs with the previous year's appended (unknown: zero counts, no courses graded).</summary>
    public static float[] Append(float[] features, PriorYearRecord? prior)
    {
        var incidents = prior?.Incidents ?? [];
        // A course's final mark is its latest of the year; the mean is over every mark of the year (each marking period).
        var finals = (prior?.Marks ?? []).GroupBy(m => m.CourseId).Select(c => c.MaxBy(m => m.Date)!.MarkPercent).ToArray();
        return
        [
            .. PriorYear.Append(features, prior?.Attendance),
            incidents.Count(i => i.Severity == "minor"),
            incidents.Count(i => i.Severity == "moderate"),
            incidents.Count(i => i.Severity == "major"),
            incidents.Count(i => K12DropoutFeatures.SeriousCategories.Contains(i.Category)),
            finals.Length,
            finals.Count(m => m < K12DropoutFeatures.PassingMark),
            finals.Length == 0 ? NoMark : (float)prior!.Marks.Average(m => m.MarkPercent),
        ];
    }

    /// <summary>
    /// EWIMS-style transparent rules that read last year too (on <see cref="Set"/>): last year's behaviour (suspensions, then
    /// major incidents, then all), last year's course failures, and the ABCs of both years counted together.
    /// </summary>
    public static IReadOnlyList<RuleBaseline> Indicators { get; } =
    [
        new("Prior-year behaviour: suspensions last year, then major incidents, then all incidents (flag on one suspension or major incident)",
            f => f[Set.IndexOf(SuspensionsFeature)] * 100 + f[Set.IndexOf(MajorFeature)] * 10 + Incidents(f), f => f[Set.IndexOf(SuspensionsFeature)] + f[Set.IndexOf(MajorFeature)] >= 1),
        new("Prior-year course performance: failures last year, then the average's distance below 100 (flag on a failure)",
            f => f[Set.IndexOf(FailedFeature)] * 100 + (100 - f[Set.IndexOf(MeanMarkFeature)]), f => f[Set.IndexOf(FailedFeature)] >= 1),
        new("ABC count over both years: this year's three flags plus last year's (chronic absence, a suspension or major incident, a failure or average < 70 %), ties by this year's absence rate",
            f => K12DropoutFeatures.Indicators[0].Score(f) + PriorFlags(f), f => K12DropoutFeatures.Indicators[0].Flag(f) || PriorFlags(f) > 0),
    ];

    private static float Incidents(float[] f) => f[Set.IndexOf(MinorFeature)] + f[Set.IndexOf(ModerateFeature)] + f[Set.IndexOf(MajorFeature)];

    private static float PriorFlags(float[] f) =>
        f[Set.IndexOf(PriorYear.ChronicFeature)]
        + (f[Set.IndexOf(SuspensionsFeature)] + f[Set.IndexOf(MajorFeature)] >= 1 ? 1 : 0)
        + (f[Set.IndexOf(FailedFeature)] >= 1 || (f[Set.IndexOf(GradedFeature)] > 0 && f[Set.IndexOf(MeanMarkFeature)] < K12DropoutFeatures.LowAverage) ? 1 : 0);

    private static FeatureDefinition Count(string name, string words) => new(name, (f, s) => $"{N(f, s, name)} {words}", FeatureDefinition.CountOf(name));

    private static int N(IReadOnlyList<float> f, FeatureSet s, string name) => (int)Math.Round(f[s.IndexOf(name)]);
}
