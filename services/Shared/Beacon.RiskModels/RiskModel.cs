using System.Text.Json;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Dropout;
using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace Beacon.RiskModels;

/// <summary>What is stored next to a model file: enough to score, explain and audit it.</summary>
public sealed record RiskModelCard(
    string Kind,
    string Algorithm,
    double Threshold,
    string ThresholdRule,
    IReadOnlyList<string> FeatureNames,
    string DataSource,
    string Split,
    DateTimeOffset TrainedAt,
    IReadOnlyList<BinaryReport> Reports,
    BinaryReport Baseline,
    bool BeatsBaseline,
    CalibrationScores? Calibration = null,
    Monitoring.DriftReference? DriftReference = null,
    string? AlgorithmSettings = null,
    IReadOnlyList<double>? EarlyLine = null,
    string? LearnerChoice = null);

/// <summary>
/// The served model's calibrated scores and true labels on the calibration slice (training data it did
/// not fit on): what a new threshold target is chosen on, without touching the held-out test set. For a model trained across
/// the year, only the slice's rows in the first third of its points (those the card's own threshold was chosen on, see
/// <see cref="TrainingResult.ThresholdRule"/>). Null on cards saved before these were kept.
/// </summary>
public sealed record CalibrationScores(IReadOnlyList<double> Scores, IReadOnlyList<bool> Labels);

/// <summary>One factor behind a student's score, in counselor words, with which way it pushes.</summary>
public sealed record RiskFactor(string Feature, string Text, bool RaisesRisk, double Contribution);

public sealed record RiskPrediction(double Probability, IReadOnlyList<RiskFactor> TopFactors);

public static class FeatureSets
{
    public static FeatureSet For(string kind) => kind switch
    {
        AttendanceFeatures.Kind => AttendanceFeatures.Set,
        OuladDropout.Kind => OuladDropout.Set,
        K12DropoutFeatures.Kind => K12DropoutFeatures.Set,
        _ => throw new ArgumentException($"Unknown model kind '{kind}'.", nameof(kind)),
    };

    /// <summary>
    /// The set a model was trained on, from the names on its card: the kind's, with the previous year's inputs if named
    /// (its attendance; for dropout also its incidents and marks).
    /// </summary>
    public static FeatureSet For(string kind, IReadOnlyList<string>? names) =>
        K12PriorYear.IsIn(names) ? K12PriorYear.Extend(For(kind)) : History.PriorYear.IsIn(names) ? History.PriorYear.Extend(For(kind)) : For(kind);

    /// <summary>
    /// The inputs with the previous year's a model of <paramref name="set"/> reads appended (none when it reads none):
    /// <paramref name="previous"/> null is an unknown year (zeros, no courses graded).
    /// </summary>
    public static float[] WithPriorYear(float[] features, FeatureSet set, PriorYearRecord? previous) =>
        set.Count <= features.Length ? features
        : K12PriorYear.IsIn(set.Names) ? K12PriorYear.Append(features, previous)
        : History.PriorYear.Append(features, previous?.Attendance);
}

public static class RiskModelFile
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static RiskModelCard Card(TrainingResult result) => new(
        result.Data.Features.Kind,
        result.Served.Algorithm,
        result.Served.Threshold,
        result.ThresholdRule,
        result.Data.Features.Names,
        result.Data.Source,
        result.Data.SplitDescription,
        result.TrainedAt,
        result.Models.Select(m => m.Report).ToArray(),
        result.Baseline,
        result.BeatsBaseline(result.Served),
        result.Served.Calibration,
        result.Served.DriftReference,
        result.Served.Settings,
        result.Served.EarlyLine,
        result.Choice?.Description);

    /// <summary>Saves the served model as &lt;kind&gt;-&lt;time&gt;.zip with its card as .json; returns the .zip path.</summary>
    public static string Save(TrainingResult result, string directory, string? name = null)
    {
        Directory.CreateDirectory(directory);
        var stem = name ?? $"{result.Data.Features.Kind}-{result.TrainedAt:yyyyMMddHHmmssfff}";
        var path = Path.Combine(directory, stem + ".zip");
        new MLContext().Model.Save(result.Served.Model, result.Served.InputSchema, path);
        File.WriteAllText(Path.ChangeExtension(path, ".json"), SerializeCard(Card(result)));
        return path;
    }

    /// <summary>The served model as ML.NET's zip, in memory (the registry stores it in its database).</summary>
    public static byte[] Serialize(TrainingResult result)
    {
        using var stream = new MemoryStream();
        new MLContext().Model.Save(result.Served.Model, result.Served.InputSchema, stream);
        return stream.ToArray();
    }

    public static string SerializeCard(RiskModelCard card) => JsonSerializer.Serialize(card, Json);

    public static RiskModelCard DeserializeCard(string json) =>
        JsonSerializer.Deserialize<RiskModelCard>(json, Json) ?? throw new InvalidDataException("Empty model card.");
}

/// <summary>
/// A loaded model ready to score from many threads: PredictionEngine is not thread-safe, so engines
/// are pooled (Microsoft.Extensions.ObjectPool) rather than shared.
/// </summary>
public sealed class RiskModel
{
    private readonly ObjectPool<PredictionEngine<ModelInput, ModelOutput>> _engines;
    private readonly ObjectPool<PredictionEngine<ModelInput, ModelOutput>> _scoreOnlyEngines;

    public RiskModel(string path, string kind, double threshold, IReadOnlyList<string>? featureNames = null, IReadOnlyList<double>? earlyLine = null)
        : this(LoadFile(path), kind, threshold, featureNames, earlyLine)
    {
    }

    /// <summary>A model from ML.NET's zip held in memory (as stored in Early warning's database).</summary>
    public RiskModel(Stream zip, string kind, double threshold, IReadOnlyList<string>? featureNames = null, IReadOnlyList<double>? earlyLine = null)
        : this(new MLContext().Model.Load(zip, out _), kind, threshold, featureNames, earlyLine)
    {
    }

    private static ITransformer LoadFile(string path)
    {
        using var file = File.OpenRead(path);
        return new MLContext().Model.Load(file, out _);
    }

    private RiskModel(ITransformer model, string kind, double threshold, IReadOnlyList<string>? featureNames, IReadOnlyList<double>? earlyLine)
    {
        Features = FeatureSets.For(kind, featureNames);
        Threshold = threshold;
        EarlyLine = earlyLine;
        // The point of the year a student is scored at, as training cut them: the school days recorded so far.
        _point = Features.Names.ToList().FindIndex(n => n is "days_enrolled" or "days_recorded");
        var ml = new MLContext();
        var schema = ModelInput.Schema(Features.Count);
        var pools = new DefaultObjectPoolProvider { MaximumRetained = Environment.ProcessorCount * 2 };
        _engines = pools.Create(new EnginePolicy(() => ml.Model.CreatePredictionEngine<ModelInput, ModelOutput>(model, ignoreMissingColumns: true, inputSchemaDefinition: schema)));
        // Batch re-scoring needs no explanation: the same chain without the contribution step is several times faster.
        var scoreOnly = model is TransformerChain<ITransformer> chain
            ? new TransformerChain<ITransformer>(chain.Where(t => t is not FeatureContributionCalculatingTransformer).ToArray())
            : model;
        _scoreOnlyEngines = pools.Create(new EnginePolicy(() => ml.Model.CreatePredictionEngine<ModelInput, ModelOutput>(scoreOnly, ignoreMissingColumns: true, inputSchemaDefinition: schema)));
    }

    /// <summary>Calibrated probabilities for many students, on every core, without explanations.</summary>
    public float[] Probabilities(IReadOnlyList<float[]> students) =>
        PredictAll(students, _scoreOnlyEngines, grain: 4096, (_, output) => output.Probability);

    /// <summary>
    /// Scores and explains many students on every core: the same engines and explanation as <see cref="Predict(float[], int)"/>
    /// (so a batch gives each student what one-at-a-time scoring gives), one engine per partition rather than one per student.
    /// </summary>
    public RiskPrediction[] Predict(IReadOnlyList<float[]> students, int topFactors = 3)
    {
        foreach (var features in students)
        {
            CheckLength(features);
        }
        // Explained before the next prediction: the engine may reuse the contributions' buffer.
        return PredictAll(students, _engines, grain: 256,
            (features, output) => new RiskPrediction(output.Probability, Explain(output.FeatureContributions, features, topFactors)));
    }

    /// <summary>
    /// One pass over many students on every core: each partition of <paramref name="grain"/> students borrows one engine from
    /// <paramref name="engines"/> and reuses one input and output, and <paramref name="keep"/> takes what is needed of each output.
    /// </summary>
    private static T[] PredictAll<T>(IReadOnlyList<float[]> students, ObjectPool<PredictionEngine<ModelInput, ModelOutput>> engines, int grain,
        Func<float[], ModelOutput, T> keep)
    {
        var result = new T[students.Count];
        Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, students.Count, grain), range =>
        {
            var engine = engines.Get();
            try
            {
                var input = new ModelInput();
                var output = new ModelOutput();
                for (var i = range.Item1; i < range.Item2; i++)
                {
                    input.Features = students[i];
                    engine.Predict(input, ref output);
                    result[i] = keep(students[i], output);
                }
            }
            finally
            {
                engines.Return(engine);
            }
        });
        return result;
    }

    public FeatureSet Features { get; }
    public double Threshold { get; }

    /// <summary>The line at each early school day, for a model trained across the year (see <see cref="Evaluation.EarlyLine"/>); null otherwise.</summary>
    public IReadOnlyList<double>? EarlyLine { get; }

    private readonly int _point;

    /// <summary>
    /// The line a student with these inputs is flagged at, given the deployment's <paramref name="threshold"/>: under the model's
    /// own threshold, the early line at the student's school day (days recorded so far); a district's own threshold, chosen to a
    /// target of its own, replaces both.
    /// </summary>
    public double ThresholdFor(float[] features, double threshold) =>
        threshold == Threshold && _point >= 0 ? Evaluation.LineAt(EarlyLine, threshold, (int)features[_point]) : threshold;

    /// <summary>
    /// One prediction through each path (an engine in each pool; ML.NET's pipeline and the explanation compiled), so the
    /// first student scored after a load does not pay for it on the way to an alert.
    /// </summary>
    public void Warm()
    {
        var nothingYet = new float[Features.Count];
        Predict(nothingYet);
        Predict([nothingYet]);
        Probabilities([nothingYet]);
    }

    public RiskPrediction Predict(float[] features, int topFactors = 3)
    {
        CheckLength(features);
        var engine = _engines.Get();
        ModelOutput output;
        try
        {
            output = engine.Predict(new ModelInput { Features = features });
        }
        finally
        {
            _engines.Return(engine);
        }
        return new RiskPrediction(output.Probability, Explain(output.FeatureContributions, features, topFactors));
    }

    private void CheckLength(float[] features)
    {
        if (features.Length != Features.Count)
        {
            throw new ArgumentException($"Expected {Features.Count} features for '{Features.Kind}', got {features.Length}.", nameof(features));
        }
    }

    private List<RiskFactor> Explain(float[] contributions, float[] features, int top) =>
        contributions
            .Select((c, i) => (Contribution: c, Index: i))
            .Where(x => Features.Features[x.Index].IsReason(features, Features, x.Contribution))
            .OrderByDescending(x => Math.Abs(x.Contribution))
            .Take(top)
            .Select(x => new RiskFactor(Features.Features[x.Index].Name, Features.Describe(x.Index, features), x.Contribution > 0, x.Contribution))
            .ToList();

    private sealed class EnginePolicy(Func<PredictionEngine<ModelInput, ModelOutput>> create) : PooledObjectPolicy<PredictionEngine<ModelInput, ModelOutput>>
    {
        public override PredictionEngine<ModelInput, ModelOutput> Create() => create();

        public override bool Return(PredictionEngine<ModelInput, ModelOutput> obj) => true;
    }
}
