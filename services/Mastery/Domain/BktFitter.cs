namespace Beacon.Mastery.Domain;

/// <summary>How <see cref="BktFitter"/> searches.</summary>
public sealed record BktFitOptions
{
    public int Restarts { get; init; } = 5;
    public int MaxIterations { get; init; } = 200;

    /// <summary>Stop when the log-likelihood improves by less than this per response.</summary>
    public double Tolerance { get; init; } = 1e-7;

    public bool FitForgetting { get; init; }

    /// <summary>Guess and slip stay below this, so the "known" state is the one that answers better.</summary>
    public double MaxGuessSlip { get; init; } = 0.49;

    /// <summary>
    /// A tighter ceiling for slip alone, where set. With slip free up to 0.49 EM can settle on "known, but slips half
    /// the time": mastery then climbs to 100 % whatever the answers (Baker, Corbett &amp; Aleven 2008 bound slip at 0.1).
    /// </summary>
    public double? MaxSlip { get; init; }

    public int Seed { get; init; } = 17;
}

public sealed record BktFit(BktParameters Parameters, double LogLikelihood, int Iterations, int Responses, int Students);

/// <summary>
/// Fits BKT to one skill by expectation-maximisation (Baum-Welch on the two-state hidden Markov model,
/// scaled forward-backward), from several random starts; the start with the highest likelihood wins.
/// Each sequence is one student's answers to the skill in order (true = correct).
/// </summary>
public static class BktFitter
{
    private const double Floor = 1e-6;

    public static BktFit Fit(IReadOnlyList<bool[]> sequences, BktFitOptions? options = null)
    {
        options ??= new BktFitOptions();
        var data = sequences.Where(s => s.Length > 0).ToArray();
        var responses = data.Sum(s => s.Length);
        if (responses == 0)
        {
            throw new ArgumentException("No responses to fit.", nameof(sequences));
        }
        var maxLength = data.Max(s => s.Length);
        var work = new double[maxLength * 5 + 4];
        var random = new Random(options.Seed);
        BktFit? best = null;
        for (var restart = 0; restart < Math.Max(1, options.Restarts); restart++)
        {
            var start = new BktParameters(
                PriorKnowledge: 0.05 + random.NextDouble() * 0.9,
                Learn: 0.01 + random.NextDouble() * 0.4,
                Guess: 0.05 + random.NextDouble() * (options.MaxGuessSlip - 0.1),
                Slip: 0.05 + random.NextDouble() * ((options.MaxSlip ?? options.MaxGuessSlip) - 0.1),
                Forget: options.FitForgetting ? 0.01 + random.NextDouble() * 0.2 : 0);
            var fit = RunEm(data, start, options, work, responses);
            if (best is null || fit.LogLikelihood > best.LogLikelihood)
            {
                best = fit;
            }
        }
        return best!;
    }

    private static BktFit RunEm(bool[][] data, BktParameters p, BktFitOptions options, double[] work, int responses)
    {
        var previous = double.NegativeInfinity;
        var iterations = 0;
        var logLikelihood = double.NegativeInfinity;
        while (iterations < options.MaxIterations)
        {
            iterations++;
            var stats = new Statistics();
            logLikelihood = 0;
            foreach (var sequence in data)
            {
                logLikelihood += Accumulate(sequence, p, work, ref stats);
            }
            p = stats.Maximise(data.Length, options);
            if (logLikelihood - previous < options.Tolerance * responses)
            {
                break;
            }
            previous = logLikelihood;
        }
        return new BktFit(p, LogLikelihood(data, p), iterations, responses, data.Length);
    }

    /// <summary>Log-likelihood of the sequences under the parameters (forward pass only).</summary>
    public static double LogLikelihood(IReadOnlyList<bool[]> sequences, BktParameters p)
    {
        var total = 0.0;
        foreach (var sequence in sequences)
        {
            var known = p.PriorKnowledge;
            foreach (var correct in sequence)
            {
                var pCorrect = p.PredictCorrect(known);
                total += Math.Log(correct ? pCorrect : 1 - pCorrect);
                known = KnowledgeTracing.Update(known, correct, p);
            }
        }
        return total;
    }

    private struct Statistics
    {
        public double Prior;
        public double LearnNumerator, LearnDenominator;
        public double ForgetNumerator, ForgetDenominator;
        public double GuessNumerator, UnknownTotal;
        public double SlipNumerator, KnownTotal;

        public readonly BktParameters Maximise(int sequences, BktFitOptions options) => new(
            PriorKnowledge: Math.Clamp(Prior / sequences, Floor, 1 - Floor),
            Learn: Math.Clamp(Ratio(LearnNumerator, LearnDenominator), Floor, 1 - Floor),
            Guess: Math.Clamp(Ratio(GuessNumerator, UnknownTotal), Floor, options.MaxGuessSlip),
            Slip: Math.Clamp(Ratio(SlipNumerator, KnownTotal), Floor, options.MaxSlip ?? options.MaxGuessSlip),
            Forget: options.FitForgetting ? Math.Clamp(Ratio(ForgetNumerator, ForgetDenominator), Floor, 1 - Floor) : 0);

        private static double Ratio(double numerator, double denominator) => denominator > 0 ? numerator / denominator : 0;
    }

    /// <summary>One sequence's expected counts (E-step). States: 0 = not known, 1 = known. Returns its log-likelihood.</summary>
    private static double Accumulate(bool[] obs, BktParameters p, double[] w, ref Statistics s)
    {
        var n = obs.Length;
        double a00 = 1 - p.Learn, a01 = p.Learn, a10 = p.Forget, a11 = 1 - p.Forget;
        // w holds alpha at [0, 2n), beta at [2n, 4n) and the scaling factors at [4n, 5n): no allocation per sequence.
        var scale = w.AsSpan(4 * n, n);
        var logLikelihood = 0.0;
        double b0 = Emission(obs[0], unknown: true, p), b1 = Emission(obs[0], unknown: false, p);
        double x0 = (1 - p.PriorKnowledge) * b0, x1 = p.PriorKnowledge * b1;
        var c = x0 + x1;
        w[0] = x0 / c;
        w[1] = x1 / c;
        scale[0] = c;
        logLikelihood += Math.Log(c);
        for (var t = 1; t < n; t++)
        {
            b0 = Emission(obs[t], unknown: true, p);
            b1 = Emission(obs[t], unknown: false, p);
            double prev0 = w[2 * t - 2], prev1 = w[2 * t - 1];
            x0 = (prev0 * a00 + prev1 * a10) * b0;
            x1 = (prev0 * a01 + prev1 * a11) * b1;
            c = x0 + x1;
            w[2 * t] = x0 / c;
            w[2 * t + 1] = x1 / c;
            scale[t] = c;
            logLikelihood += Math.Log(c);
        }

        var beta = 2 * n;
        w[beta + 2 * (n - 1)] = 1;
        w[beta + 2 * (n - 1) + 1] = 1;
        for (var t = n - 2; t >= 0; t--)
        {
            b0 = Emission(obs[t + 1], unknown: true, p);
            b1 = Emission(obs[t + 1], unknown: false, p);
            double next0 = w[beta + 2 * (t + 1)] * b0, next1 = w[beta + 2 * (t + 1) + 1] * b1;
            w[beta + 2 * t] = (a00 * next0 + a01 * next1) / scale[t + 1];
            w[beta + 2 * t + 1] = (a10 * next0 + a11 * next1) / scale[t + 1];
        }

        for (var t = 0; t < n; t++)
        {
            double g0 = w[2 * t] * w[beta + 2 * t], g1 = w[2 * t + 1] * w[beta + 2 * t + 1];
            var norm = g0 + g1;
            g0 /= norm;
            g1 /= norm;
            if (t == 0)
            {
                s.Prior += g1;
            }
            s.UnknownTotal += g0;
            s.KnownTotal += g1;
            if (obs[t])
            {
                s.GuessNumerator += g0;
            }
            else
            {
                s.SlipNumerator += g1;
            }
            if (t < n - 1)
            {
                b0 = Emission(obs[t + 1], unknown: true, p);
                b1 = Emission(obs[t + 1], unknown: false, p);
                double next0 = w[beta + 2 * (t + 1)] * b0 / scale[t + 1], next1 = w[beta + 2 * (t + 1) + 1] * b1 / scale[t + 1];
                double xi01 = w[2 * t] * a01 * next1, xi00 = w[2 * t] * a00 * next0;
                double xi10 = w[2 * t + 1] * a10 * next0, xi11 = w[2 * t + 1] * a11 * next1;
                var xiNorm = xi00 + xi01 + xi10 + xi11;
                s.LearnNumerator += xi01 / xiNorm;
                s.LearnDenominator += (xi00 + xi01) / xiNorm;
                s.ForgetNumerator += xi10 / xiNorm;
                s.ForgetDenominator += (xi10 + xi11) / xiNorm;
            }
        }
        return logLikelihood;
    }

    private static double Emission(bool correct, bool unknown, BktParameters p) => unknown
        ? (correct ? p.Guess : 1 - p.Guess)
        : (correct ? 1 - p.Slip : p.Slip);
}
