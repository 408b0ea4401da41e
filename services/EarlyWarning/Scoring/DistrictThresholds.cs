using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels;
using Microsoft.EntityFrameworkCore;

namespace Beacon.EarlyWarning.Scoring;

/// <summary>The district this deployment serves (Beacon:DistrictId, default "default").</summary>
public sealed class District(IConfiguration configuration)
{
    public string Id { get; } = configuration["Beacon:DistrictId"] is { Length: > 0 } id ? id : "default";
}

/// <summary>A threshold target that cannot be met from what the model stored; Conflict = nothing to choose on.</summary>
public sealed class ThresholdTargetException(string message, bool conflict) : Exception(message)
{
    public bool Conflict { get; } = conflict;
}

public static class ThresholdTargets
{
    public const string TopShare = "flag-top-share";
    public const string MinimumPrecision = "min-precision";
}

/// <summary>
/// Per-district thresholds for a model version, chosen to a target on the model's stored calibration
/// scores (the training slice it did not fit on). Without one, scoring uses the model's own threshold.
/// </summary>
public sealed class DistrictThresholds(EarlyWarningDbContext db, District district, TimeProvider clock)
{
    /// <summary>The threshold scoring uses for this model in this deployment's district.</summary>
    public async Task<double> ForAsync(ModelVersionRecord model, CancellationToken ct) =>
        await db.DistrictThresholds.AsNoTracking()
            .Where(t => t.ModelId == model.ModelId && t.DistrictId == district.Id)
            .Select(t => (double?)t.Threshold).FirstOrDefaultAsync(ct) ?? model.Threshold;

    public async Task<DistrictThreshold> SetAsync(Guid modelId, string? districtId, double flagTopShare, double minimumPrecision, CancellationToken ct)
    {
        if ((flagTopShare > 0) == (minimumPrecision > 0))
        {
            throw new ThresholdTargetException("Give exactly one target: flagTopShare (0–1, e.g. 0.1 flags the top 10 %) or minPrecision (0–1).", conflict: false);
        }
        if (flagTopShare >= 1 || minimumPrecision > 1)
        {
            throw new ThresholdTargetException($"Targets are fractions between 0 and 1; got flagTopShare {flagTopShare}, minPrecision {minimumPrecision}.", conflict: false);
        }
        var model = await db.Models.AsNoTracking().FirstOrDefaultAsync(m => m.ModelId == modelId, ct)
            ?? throw new ModelRegistryException($"No model '{modelId}'.", notFound: true);
        var calibration = RiskModelFile.DeserializeCard(model.CardJson).Calibration;
        if (calibration is not { Scores.Count: > 0 })
        {
            throw new ThresholdTargetException(
                $"Model {model.Kind} v{model.Version} was registered without its calibration scores, so no threshold can be chosen to a target for it; train a new version.",
                conflict: true);
        }
        var (target, value, threshold, rule) = flagTopShare > 0
            ? (ThresholdTargets.TopShare, flagTopShare, Evaluation.ThresholdForTopShare(calibration.Scores, flagTopShare),
                $"flag the top {flagTopShare:P1}")
            : (ThresholdTargets.MinimumPrecision, minimumPrecision,
                Evaluation.ThresholdForPrecision(calibration.Scores, calibration.Labels, minimumPrecision)
                    ?? throw new ThresholdTargetException(
                        $"No threshold reaches precision ≥ {minimumPrecision:P0} with at least 10 students flagged on model v{model.Version}'s calibration slice ({calibration.Scores.Count} students).",
                        conflict: false),
                $"precision ≥ {minimumPrecision:P0}");
        var (precision, share) = Evaluation.AtThreshold(calibration.Scores, calibration.Labels, threshold);
        var id = districtId is { Length: > 0 } ? districtId : district.Id;
        var row = await db.DistrictThresholds.FindAsync([modelId, id], ct);
        if (row is null)
        {
            row = db.DistrictThresholds.Add(new DistrictThreshold { ModelId = modelId, DistrictId = id, Target = target, Rule = rule }).Entity;
        }
        row.Target = target;
        row.TargetValue = value;
        row.Threshold = threshold;
        row.Rule = $"{rule} (chosen on the calibration slice of the training data, {calibration.Scores.Count} students: "
            + $"precision {precision:P1}, {share:P1} flagged)";
        row.CalibrationPrecision = precision;
        row.CalibrationFlaggedShare = share;
        row.SetAt = clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
        return row;
    }
}
