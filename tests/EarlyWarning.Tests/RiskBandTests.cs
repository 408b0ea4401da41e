using Beacon.EarlyWarning.Scoring;

namespace Beacon.EarlyWarning.Tests;

public sealed class RiskBandTests
{
    [Fact]
    public void A_score_hovering_at_the_threshold_crosses_in_once()
    {
        // Threshold 0.50, hysteresis 0.8 -> un-flag only below 0.40.
        double[] scores = [0.30, 0.51, 0.49, 0.52, 0.45, 0.50, 0.41, 0.39, 0.55];
        var flagged = false;
        var crossings = 0;
        var history = new List<bool>();
        foreach (var score in scores)
        {
            var now = RiskBands.IsFlagged(flagged, score, 0.50, 0.8);
            crossings += now && !flagged ? 1 : 0;
            flagged = now;
            history.Add(now);
        }
        Assert.Equal([false, true, true, true, true, true, true, false, true], history);
        Assert.Equal(2, crossings);   // in at 0.51, out at 0.39, in again at 0.55 — not at every wobble
    }

    [Theory]
    [InlineData(0.60, "high")]
    [InlineData(0.50, "high")]
    [InlineData(0.30, "elevated")]
    [InlineData(0.25, "elevated")]
    [InlineData(0.10, "low")]
    public void Bands_follow_the_model_threshold(double score, string band) => Assert.Equal(band, RiskBands.For(score, 0.50));
}
