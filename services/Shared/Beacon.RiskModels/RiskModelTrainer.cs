using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;

namespace Beacon.RiskModels;

/// <summary>The row ML.NET reads: a feature vector and, in training, the label.</summary>
public sealed class ModelInput
{
    public bool Label { get; set; }
    public float[] Features { get; set; } = [];

    public static SchemaDefinition Schema(int featureCount)
    {
        var schema = SchemaDefinition.Create(typeof(ModelInput));
        schema[nameof(Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, featureCount);
        return schema;
    }
}

/// <summary>What a trained chain adds: raw score, calibrated probability, and (FastTree) per-feature contributions.</summary>
public sealed class ModelOutput
{
    public float Score { get; set; }
    public float Probability { get; set; }
    public float[] FeatureContributions { get; set; } = [];
}

public sealed record TrainingOptions
{
    /// <summary>Threshold target: flag this share of students (chosen on the calibration slice, not the test set).</summary>
    public double FlagTopShare { get; init; } = 0.10;
    public double CalibrationShare { get; init; } = 0.20;
    public int Trees { get; init; } = 200;
    public int Leaves { get; init; } = 16;
    public int MinimumExamplesPerLeaf { get; init; } = 20;
    public double LearningRate { get; init; } = 0.05;
    public int Seed { get; init; } = 7;

    /// <summary>
    /// For a training set whose students also have rows cut earlier than the point the model is scored at (see
    /// <see cref="History.TrainingCuts"/>): that point. Every row of the fitting students is fitted on; the calibration
    /// slice (tree size, Platt scaling, threshold, drift reference) reads only its students' rows at this point, so the
    /// probabilities and the threshold are those of the point served. Null: every row is a point served.
    /// </summary>
    public int? ScoredAt { get; init; }

    /// <summary>
    /// Whether the served learner is chosen between FastTree and logistic regression on the training students (see
    /// <see cref="LearnerChoice"/>); null: for the K-12 dropout kind only, where a district trains from a few thousand students
    /// and logistic regression ranked better than FastTree on every district measured (bench/RESULTS.md, "Learning from one
    /// district"). Other kinds serve FastTree, as measured for them.
    /// </summary>
    public bool? ChooseLearner { get; init; }

    /// <summary>Folds of the training students the learner choice is judged on.</summary>
    public int ChoiceFolds { get; init; } = 5;

    /// <summary>
    /// The fewest training students of each outcome, per fold, the learner choice is made with (counted at the scoring point);
    /// with fewer, FastTree (the default) is served and the card says the choice was not made and why. With five positive
    /// students in a fold, one of them ranked below the negatives instead of above moves that fold's AUC by 0.2, against
    /// the 0.001 to 0.017 the learners differed by on the districts measured (bench/RESULTS.md): below that floor the
    /// comparison means nothing (at it, it is not yet sure either).
    /// </summary>
    public int ChoiceMinimumPerFold { get; init; } = 5;
}

/// <summary>One trained, calibrated model with its threshold and held-out report.</summary>
/// <param name="Settings">For FastTree, the tree size chosen on the calibration slice (see <see cref="RiskModelTrainer"/>).</param>
/// <param name="EarlyLine">For a model trained across the year, the line at each early school day (see <see cref="Evaluation.EarlyLine"/>).</param>
public sealed record TrainedModel(string Algorithm, ITransformer Model, DataViewSchema InputSchema, double Threshold, BinaryReport Report,
    CalibrationScores? Calibration = null, Monitoring.DriftReference? DriftReference = null, string? Settings = null, IReadOnlyList<double>? EarlyLine = null);

public sealed record TrainingResult(
    RiskDataset Data,
    TrainingOptions Options,
    BinaryReport Baseline,
    IReadOnlyList<TrainedModel> Models,
    DateTimeOffset TrainedAt,
    string? ThresholdPoints = null,
    LearnerChoice? Choice = null)
{
    /// <summary>
    /// The model served: FastTree, or the learner chosen on the training students (<see cref="Choice"/>). Both carry their
    /// per-input contributions in the saved chain, so either explains each student.
    /// </summary>
    public TrainedModel Served => Models.Single(m => m.Algorithm == (Choice?.Chosen ?? Algorithms.FastTree));

    public bool BeatsBaseline(TrainedModel model) => model.Report.Auc > Baseline.Auc;

    public string ThresholdRule => ThresholdPoints is null
        ? $"flag the top {Options.FlagTopShare:P0} (threshold chosen on the calibration slice of the training data)"
        : $"flag the top {Options.FlagTopShare:P0} at {ThresholdPoints}, the first third of the points of the year trained at (threshold chosen on the calibration slice of the training data; later in the year the same score flags more, as absences by then show plainly)"
            + (Served.EarlyLine is { } line ? $"; before school day {line.Count + 1}, also the top {Options.FlagTopShare:P0} at each school day (the early line, from {line[0]:F3})" : "");
}

public static class Algorithms
{
    public const string FastTree = "FastTree";
    public const string LightGbm = "LightGBM";
    public const string LogisticRegression = "LbfgsLogisticRegression";
    public const string Rule = "Rule baseline";
}

/// <summary>
/// Trains FastTree, LightGBM and logistic regression on the same split, calibrates each with Platt
/// scaling on a slice of the training data the model did not see, picks the threshold to the target
/// on that slice, and reports everything (and the rule baseline) on the held-out set.
/// </summary>
public sealed class RiskModelTrainer(IProgress<string>? progress = null)
{
    public TrainingResult Train(RiskDataset data, TrainingOptions? options = null)
    {
        options ??= new TrainingOptions();
        var ml = new MLContext(options.Seed);
        var (fit, calibration) = Split(data.Train, options.CalibrationShare, options.Seed);
        if (options.ScoredAt is { } scoredAt)
        {
            calibration = [.. calibration.Where(e => e.Point == scoredAt)];
        }
        var schema = ModelInput.Schema(data.Features.Count);
        var fitView = Load(ml, fit, schema);
        var calibrationView = Load(ml, calibration, schema);
        var testView = Load(ml, data.Test, schema);
        Say($"{data.Source}: {fit.Count} to fit, {calibration.Count} to calibrate, {data.Test.Count} held out "
            + $"({Rate(data.Train):P1} / {Rate(data.Test):P1} positive)");

        // A model trained across the year is surest late in it, so the top share of every point together is mostly late in the
        // year and would flag almost nobody early, when a warning is worth most: the threshold (and the scores a district's own
        // target is chosen on) comes from the earliest third of the points trained at.
        var thresholdPoints = Evaluation.Stretches(calibration.Select(e => e.Point).ToArray())?[0];
        var thresholdRows = Enumerable.Range(0, calibration.Count)
            .Where(i => thresholdPoints is not { } t || (calibration[i].Point >= t.From && calibration[i].Point <= t.To)).ToArray();
        // Each learner, fitted in this order, is calibrated, thresholded and reported the same way (Calibrated, below).
        var models = new List<TrainedModel>();
        var watch = Stopwatch.StartNew();
        Say($"training {Algorithms.FastTree} ...");
        // FastTree's size is chosen on the calibration slice; the learner choice further down judges FastTree at this size.
        var (treeChain, treeSettings, treeSize) = FitTreesOfTheRightSize(ml, fitView, calibrationView, Labels(calibration), data.Features.Count, options);
        models.Add(Calibrated(Algorithms.FastTree, treeChain, treeSettings, watch));
        foreach (var algorithm in new[] { Algorithms.LightGbm, Algorithms.LogisticRegression })
        {
            watch.Restart();
            Say($"training {algorithm} ...");
            var chain = Fit(ml, algorithm, fitView, data.Features.Count, options);
            models.Add(Calibrated(algorithm, chain, algorithm == Algorithms.LogisticRegression ? LinearSettings : null, watch));
        }

        var baseline = Baseline(ml, data, calibration);
        Say($"{Algorithms.Rule} held-out AUC {baseline.Auc:F3}");
        // Never on the held-out set: the choice reads the training students only, each judged by a model not fitted on them.
        var choice = options.ChooseLearner ?? data.Features.Kind == Dropout.K12DropoutFeatures.Kind
            ? LearnerChoice.Make(ml, data.Train, data.Features.Count, options, treeSize, Say)
            : null;
        return new TrainingResult(data, options, baseline, models, DateTimeOffset.UtcNow,
            thresholdPoints is { } p ? Monitoring.DriftReference.Range(p.From, p.To) : null, choice);

        TrainedModel Calibrated(string algorithm, ITransformer chain, string? settings, Stopwatch watch)
        {
            // Platt scaling on examples the model has not seen; it replaces the trainer's own probability.
            var calibrator = ml.BinaryClassification.Calibrators.Platt().Fit(chain.Transform(calibrationView));
            var model = chain.Append(calibrator);
            var calibrationScores = Probabilities(ml, model, calibrationView);
            var thresholdScores = thresholdRows.Select(i => calibrationScores[i]).ToArray();
            var threshold = Evaluation.ThresholdForTopShare(thresholdScores, options.FlagTopShare);
            var line = Evaluation.EarlyLine(Points(calibration), calibrationScores, options.FlagTopShare, threshold);
            var test = Probabilities(ml, model, testView);
            var flags = data.Test.Select((e, i) => test[i] >= Evaluation.LineAt(line, threshold, e.Point ?? 0)).ToArray();
            var report = Evaluation.Report(algorithm, test, test, Labels(data.Test), threshold, flags, Points(data.Test));
            Say($"{algorithm} done in {watch.Elapsed.TotalSeconds:F1} s: held-out AUC {report.Auc:F3}");
            return new TrainedModel(algorithm, model, fitView.Schema, threshold, report,
                new CalibrationScores(thresholdScores.Select(p => Math.Round(p, 5)).ToArray(), thresholdRows.Select(i => calibration[i].Label).ToArray()),
                Monitoring.DriftReference.From(calibration, calibrationScores), settings, line);
        }
    }

    /// <summary>
    /// FastTree at a few sizes, from the configured trees to stumps; the one that ranks the calibration slice best is
    /// kept. With a few hundred positives (a district's first years, a rare outcome such as dropout) deep trees learn the
    /// noise of the training students, while with many students they find interactions stumps cannot; the choice is made
    /// on examples none of them was fitted on, never on the held-out set.
    /// </summary>
    private (ITransformer Chain, string Settings, TrainingOptions Size) FitTreesOfTheRightSize(MLContext ml, IDataView fit, IDataView calibration, bool[] labels,
        int featureCount, TrainingOptions o)
    {
        TrainingOptions[] sizes =
        [
            o,
            o with { Leaves = Math.Min(o.Leaves, 4), MinimumExamplesPerLeaf = Math.Max(o.MinimumExamplesPerLeaf, 50) },
            o with { Leaves = 2, MinimumExamplesPerLeaf = Math.Max(o.MinimumExamplesPerLeaf, 50), Trees = Math.Max(1, o.Trees / 2), LearningRate = 2 * o.LearningRate },
        ];
        (ITransformer Chain, string Settings, TrainingOptions Size, double Auc)? best = null;
        foreach (var size in sizes.Distinct())
        {
            var chain = Fit(ml, Algorithms.FastTree, fit, featureCount, size);
            var scores = Read(ml, chain, calibration, o => o.Score);
            var auc = Evaluation.Auc(scores, labels);
            var settings = string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{size.Trees} trees of {size.Leaves} leaves, at least {size.MinimumExamplesPerLeaf} examples a leaf, learning rate {size.LearningRate}");
            Say(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"  FastTree {settings}: calibration-slice AUC {auc:F3}"));
            // Strictly better only: a tie keeps the larger, configured size.
            if (best is null || auc > best.Value.Auc + 1e-9)
            {
                best = (chain, settings, size, auc);
            }
        }
        return (best!.Value.Chain, best.Value.Settings, best.Value.Size);
    }

    /// <summary>How the linear model reads its inputs, said on its card.</summary>
    public const string LinearSettings = "inputs centred on the fitting rows' means and scaled to unit variance; each factor is coefficient × (value − that mean)";

    internal static ITransformer Fit(MLContext ml, string algorithm, IDataView data, int featureCount, TrainingOptions o)
    {
        switch (algorithm)
        {
            case Algorithms.FastTree:
                var fastTree = ml.BinaryClassification.Trainers.FastTree(new FastTreeBinaryTrainer.Options
                {
                    NumberOfTrees = o.Trees,
                    NumberOfLeaves = o.Leaves,
                    MinimumExampleCountPerLeaf = o.MinimumExamplesPerLeaf,
                    LearningRate = o.LearningRate,
                    Seed = o.Seed,
                    NumberOfThreads = 1,   // deterministic; the machine is shared anyway
                }).Fit(data);
                // Contributions travel inside the saved chain, so the service explains with the model it scores with.
                var contributions = ml.Transforms.CalculateFeatureContribution(fastTree,
                    numberOfPositiveContributions: featureCount, numberOfNegativeContributions: featureCount, normalize: false).Fit(data);
                return fastTree.Append(contributions);
            case Algorithms.LightGbm:
                return ml.BinaryClassification.Trainers.LightGbm(new LightGbmBinaryTrainer.Options
                {
                    NumberOfIterations = o.Trees,
                    NumberOfLeaves = o.Leaves,
                    MinimumExampleCountPerLeaf = o.MinimumExamplesPerLeaf,
                    LearningRate = o.LearningRate,
                    Seed = o.Seed,
                    NumberOfThreads = 1,
                    Silent = true,
                }).Fit(data);
            case Algorithms.LogisticRegression:
                // Centred (fixZero off), so a contribution, weight × normalised value, is the coefficient × (value − the fitting rows'
                // mean): zero for an average student, and of the sign the input pushes this student's risk from there. The
                // contributions travel in the chain as FastTree's do, so the service explains either model the same way.
                var normaliser = ml.Transforms.NormalizeMeanVariance(nameof(ModelInput.Features), fixZero: false).Fit(data);
                var normalised = normaliser.Transform(data);
                var linear = ml.BinaryClassification.Trainers.LbfgsLogisticRegression().Fit(normalised);
                var linearContributions = ml.Transforms.CalculateFeatureContribution(linear,
                    numberOfPositiveContributions: featureCount, numberOfNegativeContributions: featureCount, normalize: false).Fit(normalised);
                return new TransformerChain<ITransformer>(normaliser, linear, linearContributions);
            default:
                throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "Unknown algorithm.");
        }
    }

    /// <summary>The rule ranks by its own score; Platt maps that score to a probability so its calibration can be reported too.</summary>
    private static BinaryReport Baseline(MLContext ml, RiskDataset data, IReadOnlyList<LabelledExample> calibration)
    {
        var rule = data.Baseline;
        var calibrationView = ml.Data.LoadFromEnumerable(calibration.Select(e => new RuleRow { Label = e.Label, Score = (float)rule.Score(e.Features) }));
        var platt = ml.BinaryClassification.Calibrators.Platt().Fit(calibrationView);
        var testRows = data.Test.Select(e => new RuleRow { Label = e.Label, Score = (float)rule.Score(e.Features) }).ToArray();
        var probabilities = Probabilities(ml, platt, ml.Data.LoadFromEnumerable(testRows));
        var flags = data.Test.Select(e => rule.Flag(e.Features)).ToArray();
        return Evaluation.Report(Algorithms.Rule, testRows.Select(r => (double)r.Score).ToArray(), probabilities, Labels(data.Test), double.NaN, flags, Points(data.Test));
    }

    private sealed class RuleRow
    {
        public bool Label { get; set; }
        public float Score { get; set; }
    }

    private static double[] Probabilities(MLContext ml, ITransformer model, IDataView data) => Read(ml, model, data, o => o.Probability);

    /// <summary>One column of a chain's output over a data view, row by row.</summary>
    internal static double[] Read(MLContext ml, ITransformer model, IDataView data, Func<ModelOutput, float> column) =>
        ml.Data.CreateEnumerable<ModelOutput>(model.Transform(data), reuseRowObject: false, ignoreMissingColumns: true).Select(o => (double)column(o)).ToArray();

    private static bool[] Labels(IReadOnlyList<LabelledExample> examples) => examples.Select(e => e.Label).ToArray();

    private static int?[] Points(IReadOnlyList<LabelledExample> examples) => examples.Select(e => e.Point).ToArray();

    private static double Rate(IReadOnlyList<LabelledExample> examples) => examples.Count == 0 ? 0 : examples.Average(e => e.Label ? 1.0 : 0.0);

    internal static IDataView Load(MLContext ml, IReadOnlyList<LabelledExample> examples, SchemaDefinition schema) =>
        ml.Data.LoadFromEnumerable(examples.Select(e => new ModelInput { Label = e.Label, Features = e.Features }).ToArray(), schema);

    /// <summary>
    /// A seeded split by student: every row of a student (cut at several points, or in several years) falls on the same side,
    /// so the calibration slice judges the model on students it was not fitted on. With one row per student it is the split
    /// by example it always was (the same shuffle of the same seed).
    /// </summary>
    public static (List<LabelledExample> Fit, List<LabelledExample> Calibration) Split(IReadOnlyList<LabelledExample> examples, double share, int seed)
    {
        var position = StudentOrder(examples, seed);
        var calibrationCount = (int)Math.Round(position.Count * share);
        // Rows in the shuffled order of their students (a stable sort keeps a student's rows in their order).
        var shuffled = examples.OrderBy(e => position[e.Id]).ToList();
        return ([.. shuffled.Where(e => position[e.Id] >= calibrationCount)], [.. shuffled.Where(e => position[e.Id] < calibrationCount)]);
    }

    /// <summary>Each student's place in a seeded shuffle of the students (a student's rows share it).</summary>
    public static Dictionary<string, int> StudentOrder(IReadOnlyList<LabelledExample> examples, int seed)
    {
        var random = new Random(seed);
        return examples.Select(e => e.Id).Distinct().OrderBy(_ => random.Next()).Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i);
    }

    private void Say(string message) => progress?.Report(message);
}
