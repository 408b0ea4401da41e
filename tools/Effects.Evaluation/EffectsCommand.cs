using System.Globalization;
using Beacon.Simulator;

namespace Beacon.Effects.Evaluation;

/// <summary>
/// <c>./beacon eval effects [--seeds 200] [--window 2] [--students 600]</c>: the mastery effect over many simulated
/// schools, one line per intervention type and a RESULT line: planted effect and mean estimate of the planted type,
/// and the share of seeds whose 95 % interval covers the truth (nominal 0.95), for it and for the type with no effect;
/// then the same for a test of change with a planted difference between its two arms (<see cref="ArmTestEvaluation"/>).
/// </summary>
public static class EffectsCommand
{
    public static int Main(string[] args)
    {
        int Option(string name, int fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var v) ? v : fallback;
        }
        var seeds = Option("--seeds", 200);
        var window = Option("--window", 2);
        var students = Option("--students", 600);
        if (seeds < 1 || window is < 1 or > 2 || students < 50)
        {
            Console.Error.WriteLine("usage: beacon-effects-eval [--seeds N>=1] [--window 1|2] [--students N>=50]");
            return 2;
        }
        var runs = Enumerable.Range(1, seeds).Select(seed => MasteryEffectEvaluation.Run(seed, window, students)).ToList();
        string F(double v) => v.ToString("0.0000", CultureInfo.InvariantCulture);
        var summary = new Dictionary<string, (double Planted, double Estimate, double Coverage, double Students)>();
        foreach (var type in new[] { MasteryEffectWorld.PlantedType, MasteryEffectWorld.NullType })
        {
            var rows = runs.Select(r => r.Single(t => t.Type == type)).Where(t => !double.IsNaN(t.Estimate)).ToList();
            summary[type] = (rows.Average(r => r.Planted), rows.Average(r => r.Estimate), rows.Average(r => r.Covers ? 1.0 : 0.0), rows.Average(r => r.Students));
            var s = summary[type];
            Console.WriteLine($"{type,-16} seeds={rows.Count} students/seed={s.Students:0.0} planted={F(s.Planted)} estimate={F(s.Estimate)} " +
                $"bias={F(s.Estimate - s.Planted)} sd={F(Sd(rows.Select(r => r.Estimate)))} coverage95={F(s.Coverage)} naive_before_after={F(rows.Average(r => r.Naive))}");
        }
        // The test of change: arm B's planted difference over arm A, estimated as the report does, over the same seeds.
        var arms = Enumerable.Range(1, seeds).Select(seed => ArmTestEvaluation.Run(seed)).Where(a => a.Low is not null).ToList();
        var (armPlanted, armEstimate, armCoverage) = (arms.Average(a => a.Planted), arms.Average(a => a.Estimate), arms.Average(a => a.Covers ? 1.0 : 0.0));
        Console.WriteLine($"{"test-arms B-A",-16} seeds={arms.Count} students/seed={arms.Average(a => a.Measured):0.0} planted={F(armPlanted)} estimate={F(armEstimate)} " +
            $"bias={F(armEstimate - armPlanted)} sd={F(Sd(arms.Select(a => a.Estimate)))} coverage95={F(armCoverage)} " +
            $"detected={F(arms.Average(a => a.Detectable ? 1.0 : 0.0))} minimum_detectable={F(arms.Average(a => a.MinimumDetectable!.Value))}");
        var planted = summary[MasteryEffectWorld.PlantedType];
        var none = summary[MasteryEffectWorld.NullType];
        Console.WriteLine($"RESULT effects mastery_planted={F(planted.Planted)} mastery_estimate={F(planted.Estimate)} mastery_coverage={F(planted.Coverage)} " +
            $"arm_planted={F(armPlanted)} arm_estimate={F(armEstimate)} arm_coverage={F(armCoverage)} " +
            $"mastery_null_planted={F(none.Planted)} mastery_null_estimate={F(none.Estimate)} mastery_null_coverage={F(none.Coverage)} seeds={seeds} window_weeks={window}");
        return 0;
    }

    private static double Sd(IEnumerable<double> values)
    {
        var list = values.ToList();
        var mean = list.Average();
        return list.Count < 2 ? 0 : Math.Sqrt(list.Sum(v => (v - mean) * (v - mean)) / (list.Count - 1));
    }
}
