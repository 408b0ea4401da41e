using Beacon.RiskModels;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Dropout;
using Beacon.RiskModels.History;

namespace Beacon.EarlyWarning.Scoring;

/// <summary>
/// The model kinds Early warning scores from the signals it receives, and what each reads: the one list the
/// nightly re-score, the daily monitoring, the re-score request and the features export go by.
/// </summary>
public static class ScoredKinds
{
    public static readonly IReadOnlyList<string> All = [AttendanceFeatures.Kind, K12DropoutFeatures.Kind];

    public static bool IsScored(string kind) => All.Contains(kind);

    /// <summary>"'chronic-absence' and 'dropout'", for the messages that refuse another kind.</summary>
    public static string Named => string.Join(" and ", All.Select(k => $"'{k}'"));

    /// <summary>
    /// A student's inputs to a model of <paramref name="kind"/> as of <paramref name="asOf"/> (only signals dated on or
    /// before it). Without a date: chronic absence reads every school day given; dropout is as of the student's latest dated
    /// signal (<paramref name="now"/>'s date when there is none). The days are the student's as the reader counted them:
    /// with a calendar every school day enrolled through the date the feed reported, unrecorded ones present
    /// (<see cref="Beacon.RiskModels.Calendars.EnrolledDays"/>, as the indicator counts); without one the recorded days.
    /// </summary>
    /// <param name="set">The inputs the model reads (its card's): with the previous year's (<see cref="PriorYear"/>, and for dropout
    /// <see cref="K12PriorYear"/>) they are appended.</param>
    public static float[] Features(string kind, StudentSignals student, DateOnly? asOf, DateTimeOffset now, FeatureSet? set = null)
    {
        var features = kind == AttendanceFeatures.Kind
            ? AttendanceFeatures.Compute(asOf is { } day ? student.Days.Where(d => d.Date <= day) : student.Days)
            : K12DropoutFeatures.Compute(student, asOf ?? student.Latest ?? DateOnly.FromDateTime(now.UtcDateTime));
        return set is null ? features : FeatureSets.WithPriorYear(features, set, student.Previous ?? (student.PriorYear is { } attendance ? new(attendance, [], []) : null));
    }

    /// <summary>
    /// A kind's inputs with the previous year's, for models trained from history with it: its attendance for chronic absence;
    /// for dropout also its incidents and marks (<see cref="K12PriorYear"/>).
    /// </summary>
    public static FeatureSet WithPriorYear(string kind) =>
        kind == K12DropoutFeatures.Kind ? K12PriorYear.Extend(FeatureSets.For(kind)) : PriorYear.Extend(FeatureSets.For(kind));

    /// <summary>Whether a model of this kind reads more than attendance (so every projection must be read for it).</summary>
    public static bool ReadsEverySignal(string kind) => kind != AttendanceFeatures.Kind;
}
