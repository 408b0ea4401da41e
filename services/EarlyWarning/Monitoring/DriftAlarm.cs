using System.Globalization;
using Beacon.RiskModels.Monitoring;

namespace Beacon.EarlyWarning.Monitoring;

/// <summary>
/// Whether a run against the baseline alarms ops, and why: the score drifted significantly (PSI &gt; 0.25), or an input moved
/// past <see cref="MonitoringOptions.InputAlarmPsi"/>, or (with <see cref="MonitoringOptions.AlertOnInputs"/>) any input
/// drifted significantly. The inputs come largest PSI first, so the alarm names the one that moved most.
/// </summary>
public sealed record DriftAlarm(bool Score, double ScorePsi, IReadOnlyList<MeasureDrift> Moved, IReadOnlyList<MeasureDrift> Significant, bool OnAnyInput,
    double? InputAlarmPsi)
{
    public bool Raised => Score || Moved.Count > 0 || (OnAnyInput && Significant.Count > 0);

    public static DriftAlarm Of(string kind, DriftResult result, MonitoringOptions options)
    {
        var significant = result.Measures.Where(m => m.Measure != DriftResult.Score && m.Band == DriftBand.Significant).OrderByDescending(m => m.Psi).ToArray();
        var bound = options.InputAlarmPsiFor(kind);
        return new DriftAlarm(result.ScoreDrift.Band == DriftBand.Significant, result.ScoreDrift.Psi, [.. significant.Where(m => m.Psi > bound)],
            significant, options.AlertOnInputs, bound);
    }

    /// <summary>"significant score drift: PSI 0.313 &gt; 0.25; input tardies moved: PSI 5.67 &gt; 1.00", for the log and the job's reason.</summary>
    public string Reason
    {
        get
        {
            List<string> parts = [];
            if (Score)
            {
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"significant score drift: PSI {ScorePsi:F3} > 0.25"));
            }
            if (Moved.Count > 0)
            {
                parts.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{(Moved.Count == 1 ? "input" : "inputs")} {Named(Moved)} moved past the input alarm bound {InputAlarmPsi:F2}"));
            }
            else if (!Score && OnAnyInput && Significant.Count > 0)
            {
                parts.Add($"significant input drift: {Named(Significant)}");
            }
            return string.Join("; ", parts);
        }
    }

    private static string Named(IEnumerable<MeasureDrift> inputs) =>
        string.Join(", ", inputs.Select(m => string.Create(CultureInfo.InvariantCulture, $"{m.Measure} (PSI {m.Psi:F2})")));
}
