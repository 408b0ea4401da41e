using Beacon.Mastery.Evaluation;
using Beacon.Testing;
using Xunit.Abstractions;

namespace Beacon.Mastery.Tests;

/// <summary>
/// Held-out next-answer prediction on the ASSISTments 2009 DKT split. Needs shared/data/assistments2009
/// beside the repository (or BEACON_ASSISTMENTS2009); in CI its absence fails, elsewhere the test skips.
/// </summary>
public class AssistmentsEvaluationTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void Bkt_beats_the_per_skill_mean_on_held_out_students()
    {
        var folder = TestEnvironment.SharedData("assistments2009", "builder_train.csv", "BEACON_ASSISTMENTS2009", out var why);
        Skip.If(folder is null, why);

        var results = KnowledgeTracingEvaluation.Run(
            DktSequenceFile.Read(Path.Combine(folder!, "builder_train.csv")),
            DktSequenceFile.Read(Path.Combine(folder!, "builder_test.csv")));
        foreach (var r in results)
        {
            output.WriteLine($"{r.Model}: AUC {r.Auc:F4}, RMSE {r.Rmse:F4}, {r.Predictions} predictions, fit {r.FitTime.TotalSeconds:F2} s");
        }

        var (baseline, model) = (results[0], results.ToDictionary(r => r.Key));
        var (bkt, bounded, forgetting) = (model["bkt"], model["bkt_slip10"], model["bkt_forgetting_slip10"]);
        // Published on this split: BKT 0.73 (Khajah et al. 2016), 0.76 (pyBKT); BKT+forgets 0.83. Measured here 0.740 / 0.826.
        Assert.True(bkt.Auc > baseline.Auc + 0.05, $"BKT {bkt.Auc:F4} vs baseline {baseline.Auc:F4}");
        Assert.True(bkt.Rmse < baseline.Rmse);
        Assert.InRange(bkt.Auc, 0.72, 1);
        Assert.InRange(model["bkt_forgetting"].Auc, 0.80, 1);
        // The slip bound the service refits with (Mastery:MaxSlip): no worse at ranking, and far fewer students 95 %+
        // mastered with most answers wrong (measured 5.1 % → 1.4 %; with forgetting 4.7 % → 1.0 %).
        Assert.True(bounded.Auc >= bkt.Auc - 0.005 && forgetting.Auc >= model["bkt_forgetting"].Auc - 0.005, $"{bounded.Auc:F4}, {forgetting.Auc:F4}");
        Assert.True(bounded.ImplausibleMastery < bkt.ImplausibleMastery / 2, $"{bounded.ImplausibleMastery:P1} vs {bkt.ImplausibleMastery:P1}");
        Assert.True(forgetting.ImplausibleMastery < model["bkt_forgetting"].ImplausibleMastery / 2);
    }
}
