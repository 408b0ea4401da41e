using Beacon.RiskModels.Attendance;

namespace Beacon.RiskModels.Dropout;

/// <summary>A course mark as the SIS sent it: the latest mark of a course in a term (a marking period).</summary>
public sealed record MarkSignal(string CourseId, string Term, double MarkPercent, DateOnly Date);

/// <summary>A behaviour incident; the category and severity as the feed names them.</summary>
public sealed record IncidentSignal(DateOnly Date, string Category, string Severity);

/// <summary>Mastery's latest estimate of one skill (only the latest is kept, so it has no history).</summary>
public sealed record MasterySignal(string SkillId, double ProbabilityMastered, int Attempts);

/// <summary>One LMS activity statement (completed, attempted, experienced).</summary>
public sealed record LmsSignal(DateOnly Date, double DurationSeconds);

/// <summary>Everything Early warning holds about one student, from every signal kind (and, where known, their previous school year).</summary>
/// <param name="PriorYear">The previous year's attendance (the chronic-absence model's and the dropout model's previous-year inputs).</param>
/// <param name="Previous">The previous year's attendance, incidents and marks (the dropout model's <see cref="K12PriorYear"/> inputs).</param>
public sealed record StudentSignals(
    IReadOnlyList<SchoolDay> Days,
    IReadOnlyList<MarkSignal> Marks,
    IReadOnlyList<IncidentSignal> Incidents,
    IReadOnlyList<MasterySignal> Mastery,
    IReadOnlyList<LmsSignal> Lms,
    History.PriorYearAttendance? PriorYear = null,
    PriorYearRecord? Previous = null)
{
    public static readonly StudentSignals None = new([], [], [], [], []);

    /// <summary>The latest date any dated signal carries: the moment a live score is "as of".</summary>
    public DateOnly? Latest => Days.Select(d => (DateOnly?)d.Date)
        .Concat(Marks.Select(m => (DateOnly?)m.Date))
        .Concat(Incidents.Select(i => (DateOnly?)i.Date))
        .Concat(Lms.Select(l => (DateOnly?)l.Date))
        .Max();

    /// <summary>Only what is dated on or after <paramref name="first"/> (a school year's first day: scores start afresh each year).</summary>
    public StudentSignals Since(DateOnly first) => new(
        [.. Days.Where(d => d.Date >= first)], [.. Marks.Where(m => m.Date >= first)], [.. Incidents.Where(i => i.Date >= first)], Mastery,
        [.. Lms.Where(l => l.Date >= first)], PriorYear, Previous);
}

/// <summary>
/// The K-12 dropout model's inputs: all of the ABCs plus mastery and LMS engagement, as of a date. The
/// same code builds the training set (simulated students cut at a scoring date) and the live features
/// (Early warning's projections), so training and serving cannot disagree. Only signals dated on or before
/// the date count; mastery is the latest estimate (Mastery publishes no history), so it is as of "now".
/// </summary>
public static class K12DropoutFeatures
{
    public const string Kind = "dropout";

    /// <summary>The EWIMS lines the transparent rule uses (the same defaults as the indicators).</summary>
    public const double PassingMark = 60, LowAverage = 70, ChronicAbsenceRate = 0.10;

    /// <summary>About a term of calendar days: the window "this term" means for behaviour.</summary>
    public const int TermWindowDays = 90;

    /// <summary>Categories and severities that count as a suspension-like incident (as the behaviour indicator).</summary>
    public static readonly string[] SeriousCategories = ["in-school-suspension", "out-of-school-suspension", "expulsion"];

    // Stand-ins for "nothing recorded": a mark that neither helps nor hurts, and caps on "days since".
    private const float NoMark = 75, NoMastery = 0.5f, NeverIncident = 365, NeverLms = 90;

    // Each feature also says which way its words lean (FeatureDefinition.Leaning), so a reason is never shown beside
    // a direction that contradicts it: bookkeeping and zero counts are never reasons.
    public static readonly FeatureSet Set = new(Kind,
    [
        new("days_recorded", (f, s) => $"{N(f, s, "days_recorded")} school days recorded so far", (_, _) => ReasonLeaning.NotAReason),
        new("absence_rate", (f, s) => $"absent on {f[s.IndexOf("absence_rate")]:P0} of school days so far",
            (f, s) => N(f, s, "days_recorded") == 0 ? ReasonLeaning.NotAReason : f[s.IndexOf("absence_rate")] == 0 ? ReasonLeaning.LowersRisk : ReasonLeaning.Either),
        new("absent_last_10", (f, s) => $"missed {N(f, s, "absent_last_10")} of the last {Math.Min(10, N(f, s, "days_recorded"))} school days", FeatureDefinition.CountOf("absent_last_10")),
        new("attendance_trend", (f, s) => f[s.IndexOf("attendance_trend")] switch
        {
            > Steady => $"absent more often lately ({f[s.IndexOf("attendance_trend")]:+0%;-0%} in the last 10 days against before)",
            < -Steady => $"absent less often lately ({f[s.IndexOf("attendance_trend")]:+0%;-0%} in the last 10 days against before)",
            _ => "attendance steady lately",
        }, (f, s) => f[s.IndexOf("attendance_trend")] switch
        {
            > Steady => ReasonLeaning.RaisesRisk,
            < -Steady => ReasonLeaning.LowersRisk,
            _ => ReasonLeaning.NotAReason,
        }),
        new("courses_graded", (f, s) => $"{N(f, s, "courses_graded")} course(s) graded this term", (_, _) => ReasonLeaning.NotAReason),
        new("courses_failing", (f, s) => N(f, s, "courses_graded") == 0 ? "no course marks yet"
            : N(f, s, "courses_failing") is var n and > 0 ? $"failing {n} of {N(f, s, "courses_graded")} courses" : $"passing all {N(f, s, "courses_graded")} courses",
            (f, s) => N(f, s, "courses_graded") == 0 ? ReasonLeaning.NotAReason : N(f, s, "courses_failing") > 0 ? ReasonLeaning.RaisesRisk : ReasonLeaning.LowersRisk),
        new("mean_mark", (f, s) => N(f, s, "courses_graded") == 0 ? "no course marks yet" : $"average mark {f[s.IndexOf("mean_mark")]:0} % this term", Marked),
        new("lowest_mark", (f, s) => N(f, s, "courses_graded") == 0 ? "no course marks yet" : $"lowest course mark {f[s.IndexOf("lowest_mark")]:0} %", Marked),
        new("mark_trend", (f, s) => f[s.IndexOf("mark_trend")] switch
        {
            <= -1 => $"marks down {-f[s.IndexOf("mark_trend")]:0} points since the last marking period",
            >= 1 => $"marks up {f[s.IndexOf("mark_trend")]:0} points since the last marking period",
            _ => "marks steady since the last marking period",
        }, (f, s) => f[s.IndexOf("mark_trend")] switch
        {
            <= -1 => ReasonLeaning.RaisesRisk,
            >= 1 => ReasonLeaning.LowersRisk,
            _ => ReasonLeaning.NotAReason,
        }),
        new("incidents_term", (f, s) => $"{N(f, s, "incidents_term")} behaviour incident(s) this term", FeatureDefinition.CountOf("incidents_term")),
        new("serious_incidents_term", (f, s) => $"{N(f, s, "serious_incidents_term")} suspension(s) or major incident(s) this term", FeatureDefinition.CountOf("serious_incidents_term")),
        new("days_since_incident", (f, s) => N(f, s, "days_since_incident") >= NeverIncident ? "no behaviour incident in the last year"
            : $"last behaviour incident {N(f, s, "days_since_incident")} day(s) ago",
            (f, s) => N(f, s, "days_since_incident") >= NeverIncident ? ReasonLeaning.LowersRisk : ReasonLeaning.Either),
        new("skills_struggling", (f, s) => $"struggling with {N(f, s, "skills_struggling")} skill(s) (under 40 % mastery after 3+ tries)", FeatureDefinition.CountOf("skills_struggling")),
        // 0.5 stands for "no estimate yet": not a reason.
        new("mean_mastery", (f, s) => $"mean skill mastery {f[s.IndexOf("mean_mastery")]:P0}", (f, s) => f[s.IndexOf("mean_mastery")] == NoMastery ? ReasonLeaning.NotAReason : ReasonLeaning.Either),
        new("lms_active_days", (f, s) => $"active in the LMS on {N(f, s, "lms_active_days")} of the last 30 days", FeatureDefinition.CountOf("lms_active_days")),
        new("days_since_lms", (f, s) => N(f, s, "days_since_lms") >= NeverLms ? "no LMS activity in the last 90 days"
            : $"last LMS activity {N(f, s, "days_since_lms")} day(s) ago",
            // A district without an LMS feed has no activity for anyone: not a reason either way.
            (f, s) => N(f, s, "days_since_lms") >= NeverLms ? ReasonLeaning.NotAReason : ReasonLeaning.Either),
    ]);

    private const float Steady = 0.005f;

    private static ReasonLeaning Marked(IReadOnlyList<float> f, FeatureSet s) => N(f, s, "courses_graded") == 0 ? ReasonLeaning.NotAReason : ReasonLeaning.Either;

    private static int N(IReadOnlyList<float> f, FeatureSet s, string name) => (int)Math.Round(f[s.IndexOf(name)]);

    /// <summary>The features of one student as of <paramref name="asOf"/> (signals dated later are ignored).</summary>
    public static float[] Compute(StudentSignals signals, DateOnly asOf)
    {
        var days = signals.Days.Where(d => d.Date <= asOf).OrderBy(d => d.Date).ToArray();
        var n = days.Length;
        var absent = days.Count(d => d.IsAbsent);
        var last10 = days.Skip(Math.Max(0, n - 10)).Count(d => d.IsAbsent);
        var before = n - Math.Min(10, n);
        var trend = before >= 5 ? (float)last10 / Math.Min(10, n) - (float)(absent - last10) / before : 0f;

        // This term's courses: the latest mark of each course in the term of the latest mark; the trend is this
        // term's mean against the previous term's mean over the courses graded in both.
        var marks = signals.Marks.Where(m => m.Date <= asOf).ToArray();
        var byTerm = marks.GroupBy(m => m.Term)
            .Select(g => (Term: g.Key, Date: g.Max(m => m.Date), Courses: g.GroupBy(m => m.CourseId).ToDictionary(c => c.Key, c => c.MaxBy(m => m.Date)!.MarkPercent)))
            .OrderBy(t => t.Date).ToArray();
        var current = byTerm.Length > 0 ? byTerm[^1].Courses : [];
        var markTrend = 0f;
        if (byTerm.Length > 1)
        {
            var shared = current.Keys.Where(byTerm[^2].Courses.ContainsKey).ToArray();
            markTrend = shared.Length == 0 ? 0f : (float)(shared.Average(c => current[c]) - shared.Average(c => byTerm[^2].Courses[c]));
        }

        var incidents = signals.Incidents.Where(i => i.Date <= asOf).ToArray();
        var term = incidents.Where(i => i.Date > asOf.AddDays(-TermWindowDays)).ToArray();
        var lastIncident = incidents.Length == 0 ? NeverIncident : Math.Min(NeverIncident, asOf.DayNumber - incidents.Max(i => i.Date).DayNumber);

        var lms = signals.Lms.Where(l => l.Date <= asOf).ToArray();
        var lastLms = lms.Length == 0 ? NeverLms : Math.Min(NeverLms, asOf.DayNumber - lms.Max(l => l.Date).DayNumber);

        return
        [
            n,
            n == 0 ? 0f : (float)absent / n,
            last10,
            trend,
            current.Count,
            current.Values.Count(m => m < PassingMark),
            current.Count == 0 ? NoMark : (float)current.Values.Average(),
            current.Count == 0 ? NoMark : (float)current.Values.Min(),
            markTrend,
            term.Length,
            term.Count(IsSerious),
            lastIncident,
            signals.Mastery.Count(m => m.ProbabilityMastered < 0.4 && m.Attempts >= 3),
            signals.Mastery.Count == 0 ? NoMastery : (float)signals.Mastery.Average(m => m.ProbabilityMastered),
            lms.Where(l => l.Date > asOf.AddDays(-30)).Select(l => l.Date).Distinct().Count(),
            lastLms,
        ];
    }

    public static bool IsSerious(IncidentSignal incident) => SeriousCategories.Contains(incident.Category) || incident.Severity == "major";

    /// <summary>
    /// The transparent EWIMS rules on the same features, each as a ranking score: attendance (absence rate),
    /// behaviour (serious incidents, then all incidents), course performance (failures, then how far below
    /// passing), and their count ("how many of the ABCs are off track", ties broken by the absence rate).
    /// </summary>
    public static IReadOnlyList<RuleBaseline> Indicators { get; } =
    [
        new("ABC count: attendance >= 10 % + suspension/major incident + course failure or average < 70 % (ties by absence rate)",
            f => Flags(f) + f[Set.IndexOf("absence_rate")], f => Flags(f) > 0),
        new("Attendance: absence rate so far (flag >= 10 % after 10 days)",
            f => f[Set.IndexOf("absence_rate")], f => f[Set.IndexOf("days_recorded")] >= 10 && f[Set.IndexOf("absence_rate")] >= ChronicAbsenceRate),
        new("Behaviour: suspensions/major incidents this term, then incidents (flag on one serious or 3 in all)",
            f => f[Set.IndexOf("serious_incidents_term")] * 10 + f[Set.IndexOf("incidents_term")],
            f => f[Set.IndexOf("serious_incidents_term")] >= 1 || f[Set.IndexOf("incidents_term")] >= 3),
        new("Course performance: failures this term, then the average's distance below 100 (flag on a failure or average < 70 %)",
            f => f[Set.IndexOf("courses_failing")] * 100 + (100 - f[Set.IndexOf("mean_mark")]),
            f => f[Set.IndexOf("courses_failing")] >= 1 || (f[Set.IndexOf("courses_graded")] > 0 && f[Set.IndexOf("mean_mark")] < LowAverage)),
    ];

    private static float Flags(float[] f) =>
        (f[Set.IndexOf("days_recorded")] >= 10 && f[Set.IndexOf("absence_rate")] >= ChronicAbsenceRate ? 1 : 0)
        + (f[Set.IndexOf("serious_incidents_term")] >= 1 || f[Set.IndexOf("incidents_term")] >= 3 ? 1 : 0)
        + (f[Set.IndexOf("courses_failing")] >= 1 || (f[Set.IndexOf("courses_graded")] > 0 && f[Set.IndexOf("mean_mark")] < LowAverage) ? 1 : 0);
}
