namespace Beacon.EarlyWarning.Scoring;

/// <summary>What a student's stored score says before a new scoring (null: never scored by this kind).</summary>
public sealed record StoredScore(double Score, string Band, bool Flagged, int Crossings, Guid ModelId, double Threshold)
{
    /// <summary>What a stored score row says (null: none stored).</summary>
    public static StoredScore? Of(Storage.StudentRiskScore? score) =>
        score is null ? null : new(score.Score, score.Band, score.Flagged, score.Crossings, score.ModelId, score.Threshold);
}

/// <summary>
/// What one scoring decides for a student: flagged or not (threshold, hysteresis, the school's capacity line), the band,
/// whether an alert is raised (a new crossing), and whether the change is news (an event). The one rule both the
/// per-signal path and the batch re-score apply, so a student scored either way ends in the same state.
/// </summary>
public readonly record struct ScoreDecision(bool Flagged, string Band, bool Raises, int Crossings, bool News)
{
    /// <summary>Scores below this change are not news (no event), though the stored score is updated.</summary>
    public const double NoticeableChange = 0.005;

    public static ScoreDecision Of(StoredScore? stored, string studentId, double probability, double threshold, double hysteresisRatio,
        CapacityLine? line, Guid modelId)
    {
        var wasFlagged = stored?.Flagged ?? false;
        var flagged = RiskBands.IsFlagged(wasFlagged, probability, threshold, hysteresisRatio) && (line is null || line.Admits(studentId, probability));
        var band = RiskBands.For(probability, threshold);
        var news = stored is null || Math.Abs(stored.Score - probability) >= NoticeableChange
            || stored.Band != band || stored.Flagged != flagged || stored.ModelId != modelId || stored.Threshold != threshold;
        var raises = flagged && !wasFlagged;
        return new ScoreDecision(flagged, band, raises, (stored?.Crossings ?? 0) + (raises ? 1 : 0), news);
    }
}
