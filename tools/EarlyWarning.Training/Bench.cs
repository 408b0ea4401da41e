using System.Diagnostics;
using Beacon.RiskModels;
using Beacon.RiskModels.Attendance;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Beacon.EarlyWarning.Training;

/// <summary>
/// Speed of the chronic-absence model against the ABC rule in the same run: training on N students,
/// batch re-score of M students, incremental (one student, features + pooled engine) latency.
/// </summary>
public static class Bench
{
    public static void Run(int trainStudents, int scoreStudents, int seed)
    {
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}");

        // 1. Training: the whole job (three models, calibration, held-out report) on trainStudents.
        var watch = Stopwatch.StartNew();
        var data = AttendanceSimulator.Dataset(trainStudents, Math.Max(1000, trainStudents / 10), seed);
        var simulate = watch.Elapsed;
        watch.Restart();
        var result = new RiskModelTrainer().Train(data);
        var train = watch.Elapsed;
        Console.WriteLine($"training: simulate {trainStudents} students {simulate.TotalSeconds:F1} s; train+calibrate+evaluate FastTree, LightGBM, logistic {train.TotalSeconds:F1} s (FastTree held-out AUC {result.Served.Report.Auc:F3})");

        var folder = Path.Combine(Path.GetTempPath(), $"beacon-bench-{Guid.NewGuid():N}");
        var path = RiskModelFile.Save(result, folder);
        var model = new RiskModel(path, AttendanceFeatures.Kind, result.Served.Threshold);

        // 2. Batch: the same feature vectors (recycled from the held-out cohort) scored by the rule and by the model.
        var pool = data.Test.Select(e => e.Features).ToArray();
        var rule = AttendanceFeatures.IndicatorBaseline();
        watch.Restart();
        var flagged = 0;
        for (var i = 0; i < scoreStudents; i++)
        {
            flagged += rule.Flag(pool[i % pool.Length]) ? 1 : 0;
        }
        var ruleBatch = watch.Elapsed;

        var ml = new MLContext(seed);
        var loaded = ml.Model.Load(path, out _);
        var rows = ml.Data.LoadFromEnumerable(Enumerable.Range(0, scoreStudents).Select(i => new ModelInput { Features = pool[i % pool.Length] }),
            ModelInput.Schema(AttendanceFeatures.Set.Count));
        // The same batch re-score with and without the explanation transform: the difference is what explanations cost.
        (int Flagged, TimeSpan Elapsed) Rescore(ITransformer transformer)
        {
            watch.Restart();
            var count = 0;
            foreach (var row in ml.Data.CreateEnumerable<ModelOutput>(transformer.Transform(rows), reuseRowObject: true, ignoreMissingColumns: true))
            {
                count += row.Probability >= result.Served.Threshold ? 1 : 0;
            }
            return (count, watch.Elapsed);
        }
        foreach (var (explanations, transformer) in new[] { ("with", loaded),
            ("without", new TransformerChain<ITransformer>(((TransformerChain<ITransformer>)loaded).Where(t => t is not Microsoft.ML.Transforms.FeatureContributionCalculatingTransformer).ToArray())) })
        {
            var (above, elapsed) = Rescore(transformer);
            Console.WriteLine($"batch re-score of {scoreStudents:N0} students, IDataView Transform {explanations} explanations, 1 thread: {elapsed.TotalSeconds:F1} s "
                + $"({scoreStudents / elapsed.TotalSeconds:N0}/s, {above:N0} flagged)");
        }

        var vectors = Enumerable.Range(0, scoreStudents).Select(i => pool[i % pool.Length]).ToArray();
        watch.Restart();
        var probabilities = model.Probabilities(vectors);
        var modelBatch = watch.Elapsed;
        Console.WriteLine($"batch re-score of {scoreStudents:N0} students, pooled engines without explanations, all cores: model {modelBatch.TotalSeconds:F1} s "
            + $"({scoreStudents / modelBatch.TotalSeconds:N0}/s, {probabilities.Count(p => p >= result.Served.Threshold):N0} flagged); "
            + $"ABC rule {ruleBatch.TotalMilliseconds:F0} ms ({flagged:N0} flagged); ratio model/rule {modelBatch / ruleBatch:F0}x");

        // 3. Incremental: one student's 30 days -> features -> pooled engine, as the consumer does it.
        var students = new AttendanceSimulator(seed + 1).Generate(2000, new DateOnly(2025, 9, 1)).Select(s => s.Days.Take(30).ToArray()).ToArray();
        for (var i = 0; i < 500; i++)
        {
            model.Predict(AttendanceFeatures.Compute(students[i % students.Length]));   // warm-up
        }
        double[] Latencies(Action<SchoolDay[]> score)
        {
            var times = new double[20_000];
            for (var i = 0; i < times.Length; i++)
            {
                var t = Stopwatch.GetTimestamp();
                score(students[i % students.Length]);
                times[i] = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
            }
            Array.Sort(times);
            return times;
        }
        var modelTimes = Latencies(days => model.Predict(AttendanceFeatures.Compute(days)));
        var ruleTimes = Latencies(days => rule.Flag(AttendanceFeatures.Compute(days)));
        static double P(double[] sorted, double q) => sorted[(int)Math.Min(sorted.Length - 1, Math.Ceiling(q * sorted.Length) - 1)];
        Console.WriteLine($"incremental (20,000 single-student scores, 30 days each): model p50 {P(modelTimes, 0.5):F3} ms, p99 {P(modelTimes, 0.99):F3} ms; "
            + $"ABC rule p50 {P(ruleTimes, 0.5):F3} ms, p99 {P(ruleTimes, 0.99):F3} ms; ratio p99 model/rule {P(modelTimes, 0.99) / P(ruleTimes, 0.99):F1}x");
        Directory.Delete(folder, recursive: true);
    }
}
