using System.Collections.Concurrent;
using System.Diagnostics;
using Beacon.Mastery.Domain;

namespace Beacon.Mastery.Evaluation;

/// <param name="ImplausibleMastery">
/// Of the held-out students' skills with 5+ answers, the share the model ends at 95 %+ mastered although fewer than half
/// of the answers were right ("100 % mastered with 6 of 14 correct"); null for the baseline, which has no mastery.
/// </param>
public sealed record EvaluationResult(
    string Model, double Auc, double Rmse, int Predictions, int SkillsFitted, int TrainResponses, TimeSpan FitTime, double? ImplausibleMastery = null, string Key = "baseline");

/// <summary>
/// Fits one BKT model per skill on the training students and predicts every answer of the held-out
/// students from their earlier answers to the same skill (the first answer from the skill's prior).
/// The baseline predicts each skill's mean correctness on the training students.
/// </summary>
public static class KnowledgeTracingEvaluation
{
    public static Dictionary<int, BktFit> FitPerSkill(IEnumerable<StudentSequence> train, BktFitOptions options)
    {
        var perSkill = new Dictionary<int, List<bool[]>>();
        foreach (var student in train)
        {
            foreach (var group in student.Skills.Select((skill, i) => (skill, i)).GroupBy(x => x.skill))
            {
                if (!perSkill.TryGetValue(group.Key, out var list))
                {
                    perSkill[group.Key] = list = [];
                }
                list.Add(group.Select(x => student.Correct[x.i]).ToArray());
            }
        }
        var fits = new ConcurrentDictionary<int, BktFit>();
        Parallel.ForEach(perSkill, skill => fits[skill.Key] = BktFitter.Fit(skill.Value, options));
        return new Dictionary<int, BktFit>(fits);
    }

    public static IReadOnlyList<EvaluationResult> Run(IReadOnlyList<StudentSequence> train, IReadOnlyList<StudentSequence> test)
    {
        // As in Khajah et al. (2016) and pyBKT's replication: students with a single answer are dropped.
        train = train.Where(s => s.Correct.Length > 1).ToList();
        test = test.Where(s => s.Correct.Length > 1).ToList();
        var trainResponses = train.Sum(s => s.Correct.Length);
        var actual = test.SelectMany(s => s.Correct).ToList();

        var results = new List<EvaluationResult>();
        var baselineWatch = Stopwatch.StartNew();
        var overallMean = train.SelectMany(s => s.Correct).Average(c => c ? 1.0 : 0.0);
        var skillMean = train.SelectMany(s => s.Skills.Zip(s.Correct)).GroupBy(x => x.First)
            .ToDictionary(g => g.Key, g => g.Average(x => x.Second ? 1.0 : 0.0));
        baselineWatch.Stop();
        var baseline = test.SelectMany(s => s.Skills).Select(k => skillMean.GetValueOrDefault(k, overallMean)).ToList();
        results.Add(Score("baseline: per-skill mean correctness", baseline, actual, skillMean.Count, trainResponses, baselineWatch.Elapsed));

        foreach (var (name, key, options) in new[]
        {
            ("BKT (prior, learn, guess, slip)", "bkt", new BktFitOptions()),
            ("BKT, slip ≤ 0.10", "bkt_slip10", new BktFitOptions { MaxSlip = 0.10 }),
            ("BKT + forgetting", "bkt_forgetting", new BktFitOptions { FitForgetting = true }),
            ("BKT + forgetting, slip ≤ 0.10", "bkt_forgetting_slip10", new BktFitOptions { FitForgetting = true, MaxSlip = 0.10 }),
        })
        {
            var watch = Stopwatch.StartNew();
            var fits = FitPerSkill(train, options);
            watch.Stop();
            var predicted = new List<double>(actual.Count);
            int judged = 0, implausible = 0;
            foreach (var student in test)
            {
                var state = new Dictionary<int, double>();
                for (var t = 0; t < student.Skills.Length; t++)
                {
                    var skill = student.Skills[t];
                    if (!fits.TryGetValue(skill, out var fit))
                    {
                        predicted.Add(overallMean);
                        continue;
                    }
                    var p = fit.Parameters;
                    var known = state.GetValueOrDefault(skill, p.PriorKnowledge);
                    predicted.Add(p.PredictCorrect(known));
                    state[skill] = KnowledgeTracing.Update(known, student.Correct[t], p);
                }
                foreach (var answers in student.Skills.Zip(student.Correct).GroupBy(x => x.First).Where(g => g.Count() >= 5 && state.ContainsKey(g.Key)))
                {
                    judged++;
                    implausible += state[answers.Key] >= 0.95 && answers.Count(x => x.Second) * 2 < answers.Count() ? 1 : 0;
                }
            }
            results.Add(Score(name, predicted, actual, fits.Count, trainResponses, watch.Elapsed) with { ImplausibleMastery = judged == 0 ? 0 : (double)implausible / judged, Key = key });
        }
        return results;
    }

    private static EvaluationResult Score(string model, List<double> predicted, List<bool> actual, int skills, int trainResponses, TimeSpan fitTime) =>
        new(model, PredictionMetrics.Auc(predicted, actual), PredictionMetrics.Rmse(predicted, actual), actual.Count, skills, trainResponses, fitTime);
}
