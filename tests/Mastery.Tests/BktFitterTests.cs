using Beacon.Mastery.Domain;

namespace Beacon.Mastery.Tests;

/// <summary>EM recovers the parameters of a known BKT process and predicts held-out answers better than a baseline.</summary>
public class BktFitterTests
{
    /// <summary>Every fitted parameter must be within this of the true one (800 students x 20 attempts).</summary>
    private const double Tolerance = 0.05;

    public static TheoryData<double, double, double, double> TrueParameters => new()
    {
        { 0.25, 0.12, 0.20, 0.08 },
        { 0.50, 0.30, 0.25, 0.15 },
        { 0.10, 0.05, 0.30, 0.10 },
    };

    [Theory]
    [MemberData(nameof(TrueParameters))]
    public void Fitted_parameters_come_back_within_tolerance(double prior, double learn, double guess, double slip)
    {
        var truth = new BktParameters(prior, learn, guess, slip);
        var data = BktSimulator.Generate(truth, students: 800, attempts: 20, new Random(42));

        var fit = BktFitter.Fit(data, new BktFitOptions { Restarts = 5, Seed = 3 });

        Assert.InRange(fit.Parameters.PriorKnowledge, prior - Tolerance, prior + Tolerance);
        Assert.InRange(fit.Parameters.Learn, learn - Tolerance, learn + Tolerance);
        Assert.InRange(fit.Parameters.Guess, guess - Tolerance, guess + Tolerance);
        Assert.InRange(fit.Parameters.Slip, slip - Tolerance, slip + Tolerance);
        Assert.Equal(0, fit.Parameters.Forget);
        // EM found at least as good a likelihood as the truth (it maximises it on this sample).
        Assert.True(fit.LogLikelihood >= BktFitter.LogLikelihood(data, truth) - 1e-6);
    }

    [Fact]
    public void Forgetting_is_recovered_when_fitted()
    {
        var truth = new BktParameters(0.3, 0.2, 0.2, 0.1, Forget: 0.08);
        var data = BktSimulator.Generate(truth, students: 1500, attempts: 25, new Random(7));

        var fit = BktFitter.Fit(data, new BktFitOptions { FitForgetting = true, Restarts = 5 });

        Assert.InRange(fit.Parameters.Forget, truth.Forget - Tolerance, truth.Forget + Tolerance);
        Assert.InRange(fit.Parameters.Learn, truth.Learn - Tolerance, truth.Learn + Tolerance);
        Assert.InRange(fit.Parameters.Guess, truth.Guess - Tolerance, truth.Guess + Tolerance);
        Assert.InRange(fit.Parameters.Slip, truth.Slip - Tolerance, truth.Slip + Tolerance);
    }

    [Fact]
    public void Guess_and_slip_stay_below_one_half_even_on_data_that_pulls_them_up()
    {
        // Answers unrelated to any learning: coin flips.
        var random = new Random(5);
        var data = Enumerable.Range(0, 200).Select(_ => Enumerable.Range(0, 10).Select(_ => random.NextDouble() < 0.5).ToArray()).ToList();

        var fit = BktFitter.Fit(data);

        Assert.True(fit.Parameters.Guess < 0.5);
        Assert.True(fit.Parameters.Slip < 0.5);
    }

    [Fact]
    public void Fitted_model_predicts_held_out_students_better_than_their_running_correct_rate()
    {
        var truth = new BktParameters(0.2, 0.15, 0.2, 0.1);
        var train = BktSimulator.Generate(truth, 500, 15, new Random(1));
        var test = BktSimulator.Generate(truth, 300, 15, new Random(2));
        var fitted = BktFitter.Fit(train).Parameters;

        List<double> bkt = [], baseline = [];
        List<bool> actual = [];
        var trainMean = train.SelectMany(s => s).Average(a => a ? 1.0 : 0.0);
        foreach (var sequence in test)
        {
            var known = fitted.PriorKnowledge;
            int seen = 0, correct = 0;
            foreach (var answer in sequence)
            {
                bkt.Add(fitted.PredictCorrect(known));
                // Baseline: the student's own correct rate so far (train mean before the first answer).
                baseline.Add(seen == 0 ? trainMean : (double)correct / seen);
                actual.Add(answer);
                known = KnowledgeTracing.Update(known, answer, fitted);
                seen++;
                correct += answer ? 1 : 0;
            }
        }

        var bktAuc = PredictionMetrics.Auc(bkt, actual);
        var baselineAuc = PredictionMetrics.Auc(baseline, actual);
        Assert.True(bktAuc > baselineAuc + 0.01, $"BKT AUC {bktAuc:F3} vs running-rate baseline {baselineAuc:F3}");
        Assert.True(PredictionMetrics.Rmse(bkt, actual) < PredictionMetrics.Rmse(baseline, actual));
    }

    [Fact]
    public void Auc_counts_ties_as_half_and_orders_correctly()
    {
        Assert.Equal(1.0, PredictionMetrics.Auc([0.1, 0.2, 0.8, 0.9], [false, false, true, true]));
        Assert.Equal(0.0, PredictionMetrics.Auc([0.9, 0.8, 0.2, 0.1], [false, false, true, true]));
        Assert.Equal(0.5, PredictionMetrics.Auc([0.5, 0.5, 0.5, 0.5], [false, true, false, true]));
        Assert.Equal(0.75, PredictionMetrics.Auc([0.1, 0.4, 0.35, 0.8], [false, false, true, true]));
    }
}
