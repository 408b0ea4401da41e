using Beacon.Mastery.Domain;
using Beacon.Mastery.Evaluation;

namespace Beacon.Mastery.Tests;

/// <summary>The evaluation path (DKT file format → per-skill fit → held-out scores) on a file of our own.</summary>
public class EvaluationPipelineTests
{
    private static string WriteDktFile(int students, int seed)
    {
        // Two skills that interleave, each from its own known BKT process.
        var skills = new[] { new BktParameters(0.2, 0.2, 0.2, 0.1), new BktParameters(0.4, 0.1, 0.25, 0.05) };
        var random = new Random(seed);
        var path = Path.Combine(Path.GetTempPath(), $"dkt-{Guid.NewGuid():N}.csv");
        using var writer = new StreamWriter(path);
        for (var s = 0; s < students; s++)
        {
            var a = BktSimulator.Generate(skills[0], 1, 8, random)[0];
            var b = BktSimulator.Generate(skills[1], 1, 8, random)[0];
            var ids = Enumerable.Range(0, 16).Select(i => i % 2).ToArray();
            var answers = Enumerable.Range(0, 16).Select(i => (i % 2 == 0 ? a : b)[i / 2]).ToArray();
            writer.WriteLine(16);
            writer.WriteLine(string.Join(',', ids) + ",");
            writer.WriteLine(string.Join(',', answers.Select(x => x ? 1 : 0)) + ",");
        }
        return path;
    }

    [Fact]
    public void Bkt_fitted_from_a_dkt_file_beats_the_per_skill_mean_on_held_out_students()
    {
        var train = WriteDktFile(400, 1);
        var test = WriteDktFile(200, 2);
        try
        {
            var results = KnowledgeTracingEvaluation.Run(DktSequenceFile.Read(train), DktSequenceFile.Read(test));
            Assert.Equal(["baseline", "bkt", "bkt_slip10", "bkt_forgetting", "bkt_forgetting_slip10"], results.Select(r => r.Key));
            Assert.All(results, r => Assert.Equal(200 * 16, r.Predictions));
            Assert.True(results[1].Auc > results[0].Auc + 0.1, $"BKT {results[1].Auc:F3} vs baseline {results[0].Auc:F3}");
            Assert.True(results[1].Rmse < results[0].Rmse);
            Assert.Null(results[0].ImplausibleMastery);
            Assert.All(results.Skip(1), r => Assert.InRange(r.ImplausibleMastery!.Value, 0, 1));
        }
        finally
        {
            File.Delete(train);
            File.Delete(test);
        }
    }

    [Fact]
    public void A_malformed_dkt_file_names_the_line()
    {
        var path = Path.Combine(Path.GetTempPath(), $"dkt-{Guid.NewGuid():N}.csv");
        File.WriteAllLines(path, ["2", "1,1,", "1,0,", "3", "4,4,", "1,1,"]);
        try
        {
            var ex = Assert.Throws<FormatException>(() => DktSequenceFile.Read(path));
            Assert.Contains("line 4", ex.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(0.50, 0.50, 4, false)]   // low but too few answers yet
    [InlineData(0.50, 0.50, 5, true)]    // still low after 5 answers
    [InlineData(0.70, 0.92, 3, true)]    // fell 0.22 from its peak
    [InlineData(0.80, 0.90, 9, false)]   // fell only 0.10, not low
    [InlineData(0.96, 0.99, 9, false)]   // mastered is never struggling
    public void Struggling_means_low_after_N_answers_or_fallen_from_the_peak(double p, double peak, int attempts, bool struggling) =>
        Assert.Equal(struggling, new MasteryOptions().IsStruggling(p, peak, attempts));
}
