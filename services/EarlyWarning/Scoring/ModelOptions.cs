namespace Beacon.EarlyWarning.Scoring;

public sealed class ModelOptions
{
    /// <summary>Where model files live; default Beacon:DataDirectory/models.</summary>
    public string? Directory { get; set; }

    /// <summary>A flagged student is un-flagged only below Threshold × this, so a score hovering at the line does not alert daily.</summary>
    public double HysteresisRatio { get; set; } = 0.8;

    /// <summary>
    /// The district's capacity: the largest share of a school's scored students a model may flag (e.g. 0.05, the 5 %
    /// its counselors can reach this week); 0 = no cap, the threshold alone decides. See <see cref="SchoolCapacity"/>.
    /// </summary>
    public double SchoolCapacity { get; set; }

    /// <summary>A school whose capacity differs from the district's (school id → share).</summary>
    public Dictionary<string, double> SchoolCapacities { get; set; } = [];

    /// <summary>
    /// How long a replica keeps a school's capacity line before drawing it again from the stored scores
    /// (<see cref="CapacityLineCache"/>); a rescore draws every capped school's line afresh.
    /// </summary>
    public TimeSpan CapacityLineLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Boosting rounds for FastTree and LightGBM when training through the API.</summary>
    public int Trees { get; set; } = 200;

    /// <summary>Upper bound on simulated students per training request (training time grows with it).</summary>
    public int MaximumTrainingStudents { get; set; } = 200_000;

    /// <summary>The promotion gate: how much a history-trained challenger may widen the largest subgroup FPR gap.</summary>
    public double FprGapMargin { get; set; } = 0.05;

    /// <summary>Subgroups with fewer labelled negatives than this are left out of the gate's FPR gap (as the monitoring report suppresses them).</summary>
    public int MinimumGroupSize { get; set; } = 20;

    /// <summary>
    /// Whether a model trained from the district's history also reads the student's previous school year (its absence rate,
    /// days and whether they ended it chronically absent). On since it was measured (`./beacon eval district`, 2026-12-07:
    /// held-out AUC at school day 20 0.812 → 0.874 for chronic absence, 0.733 → 0.754 for dropout, both then passing the
    /// promotion gate); the gate still decides whether such a challenger replaces the champion.
    /// </summary>
    public bool PriorYear { get; set; } = true;
}
