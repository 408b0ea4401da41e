using Beacon.RiskModels.Monitoring;

namespace Beacon.EarlyWarning.Tests;

public class DriftMeasuresTests
{
    private static double[] Normal(int n, double mean, double sd, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => mean + sd * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble())).ToArray();
    }

    [Fact]
    public void The_same_distribution_is_stable_and_a_shifted_one_is_significant()
    {
        var reference = Normal(20_000, 0, 1, seed: 1);
        var same = DriftMeasures.Numeric(reference, Normal(20_000, 0, 1, seed: 2));
        Assert.Equal(DriftBand.Stable, same.Band);
        Assert.True(same.Psi < 0.01, $"PSI {same.Psi}");
        Assert.True(same.KsPValue > 0.01, $"KS p {same.KsPValue}");

        var shifted = DriftMeasures.Numeric(reference, Normal(20_000, 1, 1, seed: 3));
        Assert.Equal(DriftBand.Significant, shifted.Band);
        Assert.True(shifted.KsPValue < 1e-6);
        // Shifting a distribution by 1 moves every unit of mass by 1: Wasserstein-1 is about 1.
        Assert.InRange(shifted.Wasserstein, 0.95, 1.05);
        // KS for N(0,1) against N(1,1) is 2Φ(0.5) − 1 ≈ 0.383.
        Assert.InRange(shifted.KolmogorovSmirnov, 0.36, 0.40);

        var moderate = DriftMeasures.Numeric(reference, Normal(20_000, 0.4, 1, seed: 4));
        Assert.Equal(DriftBand.Moderate, moderate.Band);
    }

    [Fact]
    public void Known_small_cases()
    {
        Assert.Equal(1.0, DriftMeasures.Wasserstein([0.0, 0.0], [1.0, 1.0]), 12);
        Assert.Equal(0.5, DriftMeasures.Wasserstein([0.0, 1.0], [0.5, 1.5]), 12);
        Assert.Equal(1.0, DriftMeasures.KolmogorovSmirnov([1.0, 2.0], [3.0, 4.0]).Statistic, 12);
        Assert.Equal(0.0, DriftMeasures.JensenShannon([0.5, 0.5], [0.5, 0.5]), 12);
        Assert.Equal(1.0, DriftMeasures.JensenShannon([1.0, 0.0], [0.0, 1.0]), 12);
        // PSI by hand: (0.7−0.5)·ln(0.7/0.5) + (0.3−0.5)·ln(0.3/0.5) ≈ 0.1695
        Assert.Equal(0.2 * Math.Log(1.4) - 0.2 * Math.Log(0.6), DriftMeasures.Psi([0.5, 0.5], [0.7, 0.3]), 12);
    }

    [Fact]
    public void Categorical_drift_and_missing_rates()
    {
        var reference = Enumerable.Repeat("a", 500).Concat(Enumerable.Repeat("b", 500)).Cast<string?>().ToList();
        var same = DriftMeasures.Categorical(reference, reference);
        Assert.Equal((0.0, DriftBand.Stable), (same.Psi, same.Band));
        Assert.True(same.ChiSquaredPValue > 0.99);

        var current = Enumerable.Repeat("a", 800).Concat(Enumerable.Repeat("b", 100)).Concat(Enumerable.Repeat<string?>(null, 100)).ToList();
        var drifted = DriftMeasures.Categorical(reference, current);
        Assert.Equal(DriftBand.Significant, drifted.Band);
        Assert.True(drifted.ChiSquaredPValue < 1e-10);
        Assert.Equal(0.1, drifted.CurrentMissingRate, 12);
        Assert.Equal(0.0, drifted.ReferenceMissingRate, 12);
    }

    [Fact]
    public void Expected_precision_from_calibrated_scores_matches_realised_precision()
    {
        // Labels drawn from the scores themselves: the scores are calibrated by construction.
        var rng = new Random(7);
        var scores = Enumerable.Range(0, 50_000).Select(_ => Math.Pow(rng.NextDouble(), 3)).ToArray();
        var labels = scores.Select(s => rng.NextDouble() < s).ToArray();
        var estimate = ExpectedPerformance.AtThreshold(scores, threshold: 0.5);

        var flagged = scores.Select((s, i) => (s, i)).Where(x => x.s >= 0.5).Select(x => x.i).ToList();
        var realisedPrecision = flagged.Average(i => labels[i] ? 1.0 : 0.0);
        var realisedRecall = flagged.Count(i => labels[i]) / (double)labels.Count(l => l);
        Assert.Equal(flagged.Count, estimate.Flagged);
        Assert.InRange(estimate.ExpectedPrecision - realisedPrecision, -0.02, 0.02);
        Assert.InRange(estimate.ExpectedRecall - realisedRecall, -0.02, 0.02);
    }
}
