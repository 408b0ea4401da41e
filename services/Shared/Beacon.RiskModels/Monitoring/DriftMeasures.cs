namespace Beacon.RiskModels.Monitoring;

public enum DriftBand
{
    Stable,
    Moderate,
    Significant,
}

/// <summary>Drift of one numeric input (or the score) between the training reference and a current window.</summary>
public sealed record NumericDrift(double Psi, DriftBand Band, double KolmogorovSmirnov, double KsPValue, double Wasserstein,
    double ReferenceMissingRate, double CurrentMissingRate);

/// <summary>Drift of one categorical input.</summary>
public sealed record CategoricalDrift(double Psi, DriftBand Band, double JensenShannon, double ChiSquared, double ChiSquaredPValue,
    double ReferenceMissingRate, double CurrentMissingRate);

/// <summary>
/// The usual drift measures, computed here rather than called out to (Evidently's defaults are the
/// reference): Population Stability Index on reference deciles with the bands &lt; 0.10 stable,
/// 0.10–0.25 moderate, &gt; 0.25 significant; two-sample Kolmogorov–Smirnov and Wasserstein-1 for numeric
/// inputs; Jensen–Shannon (base 2, 0..1) and chi-squared for categorical ones. Missing values (NaN or
/// null) are left out of the distributions and reported as a rate.
/// </summary>
public static class DriftMeasures
{
    private const double Floor = 1e-4;   // keeps empty bins from making PSI infinite

    public static DriftBand BandOf(double psi) => psi < 0.10 ? DriftBand.Stable : psi <= 0.25 ? DriftBand.Moderate : DriftBand.Significant;

    public static NumericDrift Numeric(IReadOnlyList<double> reference, IReadOnlyList<double> current, int bins = 10)
    {
        var r = reference.Where(double.IsFinite).Order().ToArray();
        var c = current.Where(double.IsFinite).Order().ToArray();
        if (r.Length == 0 || c.Length == 0)
        {
            throw new ArgumentException("Both windows need at least one non-missing value.");
        }
        var psi = Psi(BinShares(r, r, bins), BinShares(r, c, bins));
        var (ks, pValue) = KolmogorovSmirnov(r, c);
        return new NumericDrift(psi, BandOf(psi), ks, pValue, Wasserstein(r, c), MissingRate(reference), MissingRate(current));
    }

    public static CategoricalDrift Categorical(IReadOnlyList<string?> reference, IReadOnlyList<string?> current)
    {
        var categories = reference.Concat(current).OfType<string>().Distinct().Order().ToArray();
        var r = Shares(reference, categories);
        var c = Shares(current, categories);
        var psi = Psi(r, c);
        var (chi, p) = ChiSquared(reference.OfType<string>().ToList(), current.OfType<string>().ToList(), categories);
        return new CategoricalDrift(psi, BandOf(psi), JensenShannon(r, c), chi, p, MissingRate(reference), MissingRate(current));
    }

    public static double Psi(IReadOnlyList<double> reference, IReadOnlyList<double> current)
    {
        var sum = 0.0;
        for (var i = 0; i < reference.Count; i++)
        {
            var (e, a) = (Math.Max(reference[i], Floor), Math.Max(current[i], Floor));
            sum += (a - e) * Math.Log(a / e);
        }
        return sum;
    }

    /// <summary>Shares of <paramref name="values"/> in the bins cut at the reference's quantiles (equal-frequency bins).</summary>
    public static double[] BinShares(double[] sortedReference, double[] values, int bins)
    {
        var edges = Enumerable.Range(1, bins - 1).Select(i => sortedReference[(int)((long)i * sortedReference.Length / bins)]).Distinct().ToArray();
        var counts = new double[edges.Length + 1];
        foreach (var v in values)
        {
            var bin = Array.BinarySearch(edges, v);
            counts[bin >= 0 ? bin + 1 : ~bin]++;
        }
        return counts.Select(n => n / values.Length).ToArray();
    }

    /// <summary>The largest gap between the two empirical CDFs, with its asymptotic p-value.</summary>
    public static (double Statistic, double PValue) KolmogorovSmirnov(double[] sortedA, double[] sortedB)
    {
        int i = 0, j = 0;
        var d = 0.0;
        while (i < sortedA.Length && j < sortedB.Length)
        {
            var x = Math.Min(sortedA[i], sortedB[j]);
            while (i < sortedA.Length && sortedA[i] <= x)
            {
                i++;
            }
            while (j < sortedB.Length && sortedB[j] <= x)
            {
                j++;
            }
            d = Math.Max(d, Math.Abs((double)i / sortedA.Length - (double)j / sortedB.Length));
        }
        var n = (double)sortedA.Length * sortedB.Length / (sortedA.Length + sortedB.Length);
        var lambda = (Math.Sqrt(n) + 0.12 + 0.11 / Math.Sqrt(n)) * d;
        var p = 0.0;
        for (var k = 1; k <= 100; k++)
        {
            p += 2 * Math.Pow(-1, k - 1) * Math.Exp(-2 * k * k * lambda * lambda);
        }
        return (d, Math.Clamp(p, 0, 1));
    }

    /// <summary>Earth mover's distance between the two empirical distributions (area between the CDFs).</summary>
    public static double Wasserstein(double[] sortedA, double[] sortedB)
    {
        var all = sortedA.Concat(sortedB).Order().ToArray();
        double distance = 0;
        int i = 0, j = 0;
        for (var k = 0; k < all.Length - 1; k++)
        {
            while (i < sortedA.Length && sortedA[i] <= all[k])
            {
                i++;
            }
            while (j < sortedB.Length && sortedB[j] <= all[k])
            {
                j++;
            }
            distance += Math.Abs((double)i / sortedA.Length - (double)j / sortedB.Length) * (all[k + 1] - all[k]);
        }
        return distance;
    }

    /// <summary>Jensen–Shannon divergence in bits: 0 for the same distribution, 1 for disjoint ones.</summary>
    public static double JensenShannon(IReadOnlyList<double> p, IReadOnlyList<double> q)
    {
        double Kl(IReadOnlyList<double> a, double[] m) => a.Select((x, i) => x > 0 ? x * Math.Log2(x / m[i]) : 0).Sum();
        var mid = p.Select((x, i) => (x + q[i]) / 2).ToArray();
        return (Kl(p, mid) + Kl(q, mid)) / 2;
    }

    /// <summary>Chi-squared test of homogeneity of the two windows' category counts.</summary>
    public static (double Statistic, double PValue) ChiSquared(IReadOnlyList<string> a, IReadOnlyList<string> b, IReadOnlyList<string> categories)
    {
        if (categories.Count < 2)
        {
            return (0, 1);
        }
        double total = a.Count + b.Count, chi = 0;
        foreach (var category in categories)
        {
            double inA = a.Count(x => x == category), inB = b.Count(x => x == category);
            var column = inA + inB;
            foreach (var (observed, rowTotal) in new[] { (inA, (double)a.Count), (inB, (double)b.Count) })
            {
                var expected = rowTotal * column / total;
                chi += expected > 0 ? (observed - expected) * (observed - expected) / expected : 0;
            }
        }
        return (chi, 1 - ChiSquaredCdf(chi, categories.Count - 1));
    }

    private static double ChiSquaredCdf(double x, int degreesOfFreedom) => MathNet.Numerics.Distributions.ChiSquared.CDF(degreesOfFreedom, x);

    private static double[] Shares(IReadOnlyList<string?> values, IReadOnlyList<string> categories)
    {
        var present = values.OfType<string>().ToList();
        return categories.Select(c => present.Count == 0 ? 0 : (double)present.Count(v => v == c) / present.Count).ToArray();
    }

    private static double MissingRate(IReadOnlyList<double> values) => values.Count == 0 ? 0 : (double)values.Count(v => !double.IsFinite(v)) / values.Count;

    private static double MissingRate(IReadOnlyList<string?> values) => values.Count == 0 ? 0 : (double)values.Count(v => v is null) / values.Count;
}

/// <summary>
/// Performance expected from calibrated scores while labels are not in yet (in the spirit of NannyML's
/// confidence-based performance estimation): if scores are calibrated, a flagged student with score s
/// is a true positive with probability s.
/// </summary>
public static class ExpectedPerformance
{
    public sealed record Estimate(int Flagged, double ExpectedPrecision, double ExpectedRecall, double ExpectedFalsePositives);

    public static Estimate AtThreshold(IReadOnlyList<double> calibratedScores, double threshold)
    {
        var flagged = calibratedScores.Where(s => s >= threshold).ToList();
        var expectedPositives = calibratedScores.Sum();
        var expectedTruePositives = flagged.Sum();
        return new Estimate(flagged.Count,
            flagged.Count == 0 ? 0 : expectedTruePositives / flagged.Count,
            expectedPositives == 0 ? 0 : expectedTruePositives / expectedPositives,
            flagged.Count - expectedTruePositives);
    }

    /// <summary>Expected precision, false-positive rate and recall of a given flagged set (hysteresis means flags are not just score ≥ threshold).</summary>
    public static (double Precision, double FalsePositiveRate, double Recall) AtFlags(IReadOnlyList<double> allScores, IReadOnlyList<double> flaggedScores)
    {
        var expectedPositives = allScores.Sum();
        var expectedNegatives = allScores.Count - expectedPositives;
        var truePositives = flaggedScores.Sum();
        var falsePositives = flaggedScores.Count - truePositives;
        return (flaggedScores.Count == 0 ? 0 : truePositives / flaggedScores.Count,
            expectedNegatives <= 0 ? 0 : falsePositives / expectedNegatives,
            expectedPositives <= 0 ? 0 : truePositives / expectedPositives);
    }
}
