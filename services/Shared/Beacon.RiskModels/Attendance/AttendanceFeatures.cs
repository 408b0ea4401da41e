namespace Beacon.RiskModels.Attendance;

/// <summary>One school day as the model sees it.</summary>
public readonly record struct SchoolDay(DateOnly Date, string Status)
{
    public bool IsAbsent => Status is "absent" or "excused-absent";
}

/// <summary>
/// Attendance features as of the last recorded day. The same code builds the training set (simulated
/// days) and the live features (days projected from AttendanceRecorded), so the two cannot drift apart.
/// </summary>
public static class AttendanceFeatures
{
    public const string Kind = "chronic-absence";

    public static readonly FeatureSet Set = new(Kind,
    [
        // Bookkeeping: how much history there is, never a reason by itself.
        new("days_enrolled", (f, s) => $"{Count(f, s, "days_enrolled")} school days recorded so far", (_, _) => ReasonLeaning.NotAReason),
        new("days_absent", (f, s) => $"missed {Count(f, s, "days_absent")} of {Count(f, s, "days_enrolled")} school days so far", FeatureDefinition.CountOf("days_absent")),
        new("absence_rate", (f, s) => $"absent on {f[s.IndexOf("absence_rate")]:P0} of school days so far", FeatureDefinition.CountOf("days_absent")),
        new("absent_last_5", (f, s) => $"missed {Count(f, s, "absent_last_5")} of the last {Math.Min(5, Count(f, s, "days_enrolled"))} school days", FeatureDefinition.CountOf("absent_last_5")),
        new("absent_last_10", (f, s) => $"missed {Count(f, s, "absent_last_10")} of the last {Math.Min(10, Count(f, s, "days_enrolled"))} school days", FeatureDefinition.CountOf("absent_last_10")),
        new("recent_trend", (f, s) => f[s.IndexOf("recent_trend")] switch
        {
            > Steady => $"absent more often lately ({f[s.IndexOf("recent_trend")]:+0%;-0%} in the last 10 days against before)",
            < -Steady => $"absent less often lately ({f[s.IndexOf("recent_trend")]:+0%;-0%} in the last 10 days against before)",
            _ => "attendance steady lately",
        }, (f, s) => f[s.IndexOf("recent_trend")] switch
        {
            > Steady => ReasonLeaning.RaisesRisk,
            < -Steady => ReasonLeaning.LowersRisk,
            _ => ReasonLeaning.NotAReason,
        }),
        new("current_streak", (f, s) => Count(f, s, "current_streak") is var n and > 0 ? $"absent the last {n} school day(s) in a row" : "present on the latest school day",
            (f, s) => Count(f, s, "current_streak") > 0 ? ReasonLeaning.RaisesRisk : ReasonLeaning.LowersRisk),
        new("longest_streak", (f, s) => $"longest run of absences: {Count(f, s, "longest_streak")} day(s)", FeatureDefinition.CountOf("longest_streak")),
        new("tardies", (f, s) => $"late {Count(f, s, "tardies")} time(s)", FeatureDefinition.CountOf("tardies")),
        new("excused_absences", (f, s) => $"{Count(f, s, "excused_absences")} of the absences were excused", FeatureDefinition.CountOf("excused_absences")),
        new("monday_friday_absences", (f, s) => $"{Count(f, s, "monday_friday_absences")} absence(s) on a Monday or Friday", FeatureDefinition.CountOf("monday_friday_absences")),
        new("days_since_last_absence", (f, s) => Count(f, s, "days_since_last_absence") is var n && n >= Count(f, s, "days_enrolled")
            ? "no absence recorded yet" : n == 0 ? "absent on the latest school day" : $"last absence {n} school day(s) ago",
            // "No absence yet" reassures; "absent on the latest day" is a warning; a number of days ago is a plain fact.
            (f, s) => Count(f, s, "days_since_last_absence") is var n && n >= Count(f, s, "days_enrolled") ? (n == 0 ? ReasonLeaning.NotAReason : ReasonLeaning.LowersRisk)
                : n == 0 ? ReasonLeaning.RaisesRisk : ReasonLeaning.Either),
        new("absence_episodes", (f, s) => $"{Count(f, s, "absence_episodes")} separate absence episode(s)", FeatureDefinition.CountOf("absence_episodes")),
    ]);

    /// <summary>A change in the absence rate smaller than this is "steady".</summary>
    private const float Steady = 0.005f;

    private static int Count(IReadOnlyList<float> f, FeatureSet s, string name) => (int)Math.Round(f[s.IndexOf(name)]);

    /// <summary>Features from a student's days (any order); empty input gives all zeros.</summary>
    public static float[] Compute(IEnumerable<SchoolDay> days)
    {
        var ordered = days.OrderBy(d => d.Date).ToArray();
        var n = ordered.Length;
        int absent = 0, tardies = 0, excused = 0, mondayFriday = 0, longest = 0, run = 0, episodes = 0, lastAbsence = -1;
        for (var i = 0; i < n; i++)
        {
            var day = ordered[i];
            if (day.IsAbsent)
            {
                absent++;
                run++;
                episodes += run == 1 ? 1 : 0;
                longest = Math.Max(longest, run);
                lastAbsence = i;
                excused += day.Status == "excused-absent" ? 1 : 0;
                mondayFriday += day.Date.DayOfWeek is DayOfWeek.Monday or DayOfWeek.Friday ? 1 : 0;
            }
            else
            {
                run = 0;
                tardies += day.Status == "tardy" ? 1 : 0;
            }
        }
        int AbsentInLast(int window) => ordered.Skip(Math.Max(0, n - window)).Count(d => d.IsAbsent);
        var last10 = AbsentInLast(10);
        var before = n - Math.Min(10, n);
        // Recent rate minus earlier rate; zero until there is an "earlier" to compare with.
        var trend = before >= 5 ? (float)last10 / Math.Min(10, n) - (float)(absent - last10) / before : 0f;
        return
        [
            n,
            absent,
            n == 0 ? 0f : (float)absent / n,
            AbsentInLast(5),
            last10,
            trend,
            run,
            longest,
            tardies,
            excused,
            mondayFriday,
            lastAbsence < 0 ? n : n - 1 - lastAbsence,
            episodes,
        ];
    }

    /// <summary>The ABC indicator (services/EarlyWarning/Domain/ChronicAbsence.cs defaults: 10 % after 10 days) as a baseline.</summary>
    public static RuleBaseline IndicatorBaseline(double threshold = 0.10, int minimumDays = 10) => new(
        $"ABC attendance indicator: absence rate so far >= {threshold:P0} after >= {minimumDays} days (score = absence rate so far)",
        f => f[Set.IndexOf("absence_rate")],
        f => f[Set.IndexOf("days_enrolled")] >= minimumDays && f[Set.IndexOf("absence_rate")] >= threshold);
}
