using System.Globalization;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Dropout;

namespace Beacon.EarlyWarning.Monitoring;

/// <summary>EarlyWarning:Monitoring settings.</summary>
public sealed class MonitoringOptions
{
    /// <summary>Run the daily drift check and the retraining policy.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Local time of day of the daily check, "HH:mm" (after the nightly re-score).</summary>
    public string DailyAt { get; set; } = "03:00";

    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a replica holds the daily run without renewing it: how soon a crashed run is taken over by another.</summary>
    public TimeSpan JobLease { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>A window with fewer students (with 30+ school days recorded) is not compared: PSI on a handful is noise.</summary>
    public int MinimumStudents { get; set; } = 100;

    /// <summary>Also publish ModelDriftDetected when any input drifts significantly (PSI &gt; 0.25). Off: inputs drift that far with the season.</summary>
    public bool AlertOnInputs { get; set; }

    /// <summary>
    /// Per kind of model: publish ModelDriftDetected when an input's PSI against the baseline is above this, whatever the score
    /// does. A change in what is recorded (late arrivals recorded as absences) can move an input far while a model trained
    /// across the year barely moves its score. The defaults are measured, not guessed: the largest PSI of any input against the
    /// baseline with no change planted (the demo district's backfill, and for chronic absence also 180-day simulated years),
    /// times two, rounded up (README, "Drift"). Set EarlyWarning:Monitoring:InputAlarmPsi:&lt;kind&gt; to change one.
    /// </summary>
    public Dictionary<string, double> InputAlarmPsi { get; set; } = new(DefaultInputAlarmPsi);

    public static readonly IReadOnlyDictionary<string, double> DefaultInputAlarmPsi = new Dictionary<string, double>
    {
        [AttendanceFeatures.Kind] = 1.6,   // 2 x 0.787 (days_since_last_absence, the demo district's backfill)
        [K12DropoutFeatures.Kind] = 6.1,   // 2 x 3.027 (days_since_lms, the demo district's backfill)
    };

    /// <summary>The input alarm bound of a kind of model, or null where none is set (inputs then alarm only with <see cref="AlertOnInputs"/>).</summary>
    public double? InputAlarmPsiFor(string kind) => InputAlarmPsi.TryGetValue(kind, out var psi) ? psi : null;

    /// <summary>Subgroups with fewer labelled students than this are suppressed in the fairness report.</summary>
    public int MinimumGroupSize { get; set; } = 20;

    /// <summary>Precision at top k: the share of students taken from the top of the ranking.</summary>
    public double TopShare { get; set; } = 0.10;

    /// <summary>Retraining policy: start a training job when the score drifts significantly from the baseline.</summary>
    public bool RetrainOnDrift { get; set; } = true;

    /// <summary>Retraining policy: start a training job when the realised false-positive rate is above this bound for <see cref="FprWeeks"/> weeks in a row.</summary>
    public double FprBound { get; set; } = 0.25;

    public int FprWeeks { get; set; } = 2;

    /// <summary>
    /// Alarm (before labels) when the latest week's expected false-positive rate leaves [ExpectedFprLow, ExpectedFprHigh]; null ends
    /// are open. The default upper end is the realised bound: a model expected to cry wolf that often will.
    /// </summary>
    public double? ExpectedFprLow { get; set; }

    public double? ExpectedFprHigh { get; set; } = 0.25;

    /// <summary>Alarm when the largest subgroup gap in false-positive rate or recall (labelled, shown groups) is above this; null = off.</summary>
    public double? SubgroupGapBound { get; set; } = 0.20;

    /// <summary>No second policy-started job within this many days of the last one.</summary>
    public int RetrainCooldownDays { get; set; } = 7;

    /// <summary>
    /// A job still "running" after this long was lost with the process that ran it (a crash or a restart: jobs
    /// run in the process, not in a queue): it is marked failed and no longer blocks a new one. Training takes
    /// seconds to minutes.
    /// </summary>
    public TimeSpan RetrainTimeout { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Simulated students for a policy-started chronic-absence training job (0 = the registry's default).</summary>
    public int RetrainStudents { get; set; }

    public bool TryGetAt(out TimeOnly at) => TimeOnly.TryParseExact(DailyAt, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out at);

    public const string InvalidMessage = "EarlyWarning:Monitoring:DailyAt must be a local time \"HH:mm\", e.g. \"03:00\".";

    public const string InvalidInputAlarmMessage =
        "EarlyWarning:Monitoring:InputAlarmPsi:<kind> must be above 0.25 (the significant band) for chronic-absence or dropout; to alarm on every significant input, set AlertOnInputs=true.";
}
