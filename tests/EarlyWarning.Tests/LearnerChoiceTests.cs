using Beacon.RiskModels;
using Beacon.RiskModels.Dropout;
using Microsoft.ML;

namespace Beacon.EarlyWarning.Tests;

/// <summary>
/// The dropout model's learner is chosen between FastTree and logistic regression on the training students alone, and a linear
/// model served explains each score as FastTree's does: by the inputs that push this student's risk from an average student's.
/// </summary>
public sealed class LearnerChoiceTests
{
    private static readonly TrainingOptions Fast = new() { Trees = 40, Leaves = 8 };

    [Fact]
    public void The_choice_reads_the_training_students_only()
    {
        var data = K12DropoutSimulator.Dataset(2500, 600, seed: 5);
        // The same training students with the held-out outcomes turned round: a choice that peeked at them would change.
        var turned = data with { Test = [.. data.Test.Select(e => e with { Label = !e.Label })] };
        var first = new RiskModelTrainer().Train(data, Fast);
        var second = new RiskModelTrainer().Train(turned, Fast);

        Assert.NotNull(first.Choice);
        Assert.Null(first.Choice.NotMade);
        Assert.Equal(first.Choice.Chosen, second.Choice!.Chosen);
        Assert.Equal(first.Choice.Auc, second.Choice.Auc);
        Assert.True(first.Served.Report.Auc > 0.5 && second.Served.Report.Auc < 0.5, "the turned held-out set is indeed scored the other way");
        Assert.Equal(first.Choice.Chosen, first.Served.Algorithm);
        Assert.Equal(first.Choice.Description, RiskModelFile.Card(first).LearnerChoice);
        Assert.Equal(first.Choice.Chosen, RiskModelFile.Card(first).Algorithm);
    }

    [Fact]
    public void Other_kinds_serve_FastTree_unless_asked_to_choose()
    {
        var data = Beacon.RiskModels.Attendance.AttendanceSimulator.Dataset(1500, 300, 3);
        var result = new RiskModelTrainer().Train(data, Fast);
        Assert.Null(result.Choice);
        Assert.Equal(Algorithms.FastTree, result.Served.Algorithm);
        Assert.Null(RiskModelFile.Card(result).LearnerChoice);
    }

    [Fact]
    public void A_linear_risk_is_given_to_logistic_regression_and_an_interaction_to_FastTree()
    {
        var ml = new MLContext(7);
        // Risk rising with one input against risk only where two inputs agree (an interaction no linear model can draw).
        var linear = Students(3000, seed: 1, x => x[0] + 0.5 * x[1]);
        var interaction = Students(3000, seed: 2, x => x[0] * x[1] > 0 ? 2.0 : -2.0);

        var forLinear = LearnerChoice.Make(ml, linear, 4, Fast, Fast);
        var forInteraction = LearnerChoice.Make(ml, interaction, 4, Fast, Fast);

        Assert.Equal(Algorithms.LogisticRegression, forLinear.Chosen);
        Assert.Equal(Algorithms.FastTree, forInteraction.Chosen);
        Assert.True(forInteraction.Auc[Algorithms.LogisticRegression] < 0.6, $"logistic regression on the interaction: {forInteraction.Auc[Algorithms.LogisticRegression]:F3}");
        Assert.Null(forLinear.NotMade);
        Assert.Equal(5, forLinear.Folds);
        Assert.Equal(3000, forLinear.Students);
    }

    [Fact]
    public void A_district_with_few_dropouts_still_trains_and_serves_FastTree_saying_the_learner_was_not_chosen()
    {
        var data = K12DropoutSimulator.Dataset(400, 200, seed: 5);
        // Only three of the training students drop out.
        var kept = data.Train.Where(e => e.Label).Select(e => e.Id).Distinct().Take(3).ToHashSet();
        var few = data with { Train = [.. data.Train.Select(e => e with { Label = kept.Contains(e.Id) })] };
        var said = new Said();

        var result = new RiskModelTrainer(said).Train(few, Fast);

        Assert.NotNull(result.Choice);
        Assert.Equal(Algorithms.FastTree, result.Choice.Chosen);
        Assert.Equal(Algorithms.FastTree, result.Served.Algorithm);
        Assert.Equal(0, result.Choice.Folds);
        var card = RiskModelFile.Card(result);
        Assert.Equal(Algorithms.FastTree, card.Algorithm);
        Assert.StartsWith("FastTree, the default: learner not chosen: only 3 positive students among the 400 training students", card.LearnerChoice);
        Assert.Contains($"served: {card.LearnerChoice}", said.Messages);
        Assert.Contains("learner not chosen", ReportFormatter.Markdown(result));
    }

    [Fact]
    public void The_choice_is_made_from_five_students_of_each_outcome_a_fold_and_not_below()
    {
        var ml = new MLContext(7);
        var students = Students(400, seed: 3, x => x[0] + 0.5 * x[1]);
        // The first `count` positive students stay positive, the rest become negative.
        List<LabelledExample> WithPositives(int count)
        {
            var positives = 0;
            return [.. students.Select(e => e with { Label = e.Label && ++positives <= count })];
        }

        var enough = LearnerChoice.Make(ml, WithPositives(25), 4, Fast, Fast);
        var tooFew = LearnerChoice.Make(ml, WithPositives(24), 4, Fast, Fast);

        Assert.Null(enough.NotMade);
        Assert.Equal(2, enough.Auc.Count);
        Assert.Equal("only 24 positive students among the 400 training students (judging learners on 5 folds needs 25, 5 a fold)", tooFew.NotMade);
        Assert.Equal(Algorithms.FastTree, tooFew.Chosen);
        Assert.Empty(tooFew.Auc);
        // The rarer outcome is what counts, whichever it is.
        var fewNegatives = LearnerChoice.Make(ml, [.. WithPositives(24).Select(e => e with { Label = !e.Label })], 4, Fast, Fast);
        Assert.StartsWith("only 24 negative students", fewNegatives.NotMade);
    }

    [Fact]
    public void Without_a_fold_that_holds_both_outcomes_no_choice_is_made()
    {
        // One student a fold: no fold left out can rank anything, however low the floor is set.
        var five = Students(5, seed: 4, x => x[0]).Select((e, i) => e with { Label = i == 0 }).ToList();
        var choice = LearnerChoice.Make(new MLContext(7), five, 4, Fast with { ChoiceMinimumPerFold = 0 }, Fast);
        Assert.Equal(Algorithms.FastTree, choice.Chosen);
        Assert.Equal("no fold of the training students holds both outcomes", choice.NotMade);
        Assert.Equal("FastTree, the default: learner not chosen: no fold of the training students holds both outcomes", choice.Description);
    }

    [Fact]
    public void Folds_are_cut_by_student_in_equal_parts()
    {
        var rows = Enumerable.Range(0, 200).SelectMany(i => new[] { 15, 30, 45 }.Select(day => new LabelledExample($"s{i}", [i, day], i % 7 == 0, day))).ToList();
        var folds = LearnerChoice.FoldOf(rows, 5, seed: 7);
        Assert.Equal(200, folds.Count);
        Assert.All(Enumerable.Range(0, 5), k => Assert.InRange(folds.Values.Count(f => f == k), 40, 40));
    }

    [Fact]
    public void A_served_linear_model_names_the_inputs_that_raise_the_risk_by_coefficient_times_distance_from_the_mean()
    {
        var data = K12DropoutSimulator.Dataset(3000, 300, seed: 9);
        var trained = new RiskModelTrainer().Train(data, Fast with { ChooseLearner = false });
        // Served as the linear model, whatever a choice would say on these students.
        var result = trained with { Choice = new LearnerChoice(Algorithms.LogisticRegression, new Dictionary<string, double> { [Algorithms.FastTree] = 0, [Algorithms.LogisticRegression] = 1 }, 5, 3000) };
        var folder = Directory.CreateTempSubdirectory("beacon-linear-");
        try
        {
            var model = new RiskModel(RiskModelFile.Save(result, folder.FullName), K12DropoutFeatures.Kind, result.Served.Threshold);
            var set = K12DropoutFeatures.Set;
            var average = Enumerable.Range(0, set.Count).Select(i => (float)data.Train.Average(e => e.Features[i])).ToArray();
            average[set.IndexOf("courses_graded")] = 4;
            float[] Failing(int courses)
            {
                var f = (float[])average.Clone();
                f[set.IndexOf("courses_failing")] = courses;
                return f;
            }
            RiskFactor Courses(int failing) => model.Predict(Failing(failing), topFactors: set.Count).TopFactors.Single(f => f.Feature == "courses_failing");

            var (one, two, three) = (Courses(1), Courses(2), Courses(3));
            // Raising the risk, in counselor words, and the top reason for a student otherwise average.
            Assert.True(three.RaisesRisk && three.Contribution > 0, $"failing 3: {three.Contribution}");
            Assert.Equal("failing 3 of 4 courses", three.Text);
            Assert.Equal("courses_failing", model.Predict(Failing(3)).TopFactors[0].Feature);
            // Linear in the input: each further failed course adds the same (the coefficient), whatever the mean it is measured from.
            Assert.Equal(two.Contribution - one.Contribution, three.Contribution - two.Contribution, 4);
            Assert.True(two.Contribution > one.Contribution);
            Assert.True(model.Predict(Failing(3)).Probability > model.Predict(Failing(1)).Probability);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>The trainer's progress, kept as it is said (Progress&lt;T&gt; would post it to the thread pool).</summary>
    private sealed class Said : IProgress<string>
    {
        public List<string> Messages { get; } = [];
        public void Report(string value) => Messages.Add(value);
    }

    /// <summary>Students with four standard-normal inputs whose log-odds of the outcome is <paramref name="logit"/>.</summary>
    private static List<LabelledExample> Students(int count, int seed, Func<float[], double> logit)
    {
        var random = new Random(seed);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        return [.. Enumerable.Range(0, count).Select(i =>
        {
            var x = Enumerable.Range(0, 4).Select(_ => (float)Normal()).ToArray();
            return new LabelledExample($"s{i}", x, random.NextDouble() < 1 / (1 + Math.Exp(-logit(x))));
        })];
    }
}
