using System.Globalization;
using Microsoft.ML;

namespace Beacon.RiskModels;

/// <summary>
/// Which learner a model kind serves, chosen on the training students alone: FastTree (at the size chosen on the calibration
/// slice) and logistic regression are each fitted on all but one fold of the students and judged by AUC on the fold left out
/// (at the scoring point, when the students are cut at several), fold by fold; the better mean AUC is served, a tie keeps
/// FastTree. Folds rather than the calibration slice alone: the slice is a fifth of a district (a few dozen dropouts), where
/// two learners a few thousandths apart swap places by chance, and FastTree's size was already picked on it. The held-out
/// set is never read.
/// When the training students cannot judge the learners (too few students of one outcome, or no fold holding both), no choice
/// is made: FastTree, the trainer's default, is served and <see cref="NotMade"/> says why, so a district with few dropouts
/// still trains.
/// </summary>
/// <param name="Chosen">The algorithm served (<see cref="Algorithms"/>).</param>
/// <param name="Auc">Each candidate's mean AUC on the folds left out (empty when no choice was made).</param>
/// <param name="Folds">Folds of the training students judged on (0 when no choice was made).</param>
/// <param name="Students">Training students the folds were cut from.</param>
/// <param name="NotMade">Why no choice was made; null when it was.</param>
public sealed record LearnerChoice(string Chosen, IReadOnlyDictionary<string, double> Auc, int Folds, int Students, string? NotMade = null)
{
    /// <summary>The learners a choice is made between.</summary>
    public static readonly IReadOnlyList<string> Candidates = [Algorithms.FastTree, Algorithms.LogisticRegression];

    /// <summary>The learner served when no choice is made: the one served before choices were made.</summary>
    public const string Default = Algorithms.FastTree;

    /// <summary>What the model card says of the choice.</summary>
    public string Description => NotMade is null
        ? string.Create(CultureInfo.InvariantCulture,
            $"{Chosen}, chosen on the training students only ({Folds}-fold cross-validation by student, {Students} students; mean AUC on the students left out: {Scores})")
        : $"{Chosen}, the default: learner not chosen: {NotMade}";

    private string Scores => string.Join(", ", Candidates.Select(c => string.Create(CultureInfo.InvariantCulture, $"{c} {Auc[c]:F3}")));

    /// <summary>
    /// Fits each candidate on all but one fold, scores the fold left out, and keeps the better mean AUC; or, with too few
    /// students of an outcome to judge on (<see cref="TrainingOptions.ChoiceMinimumPerFold"/>), keeps <see cref="Default"/>.
    /// </summary>
    /// <param name="treeSize">FastTree's size as chosen on the calibration slice, so it is judged at the size it would be served.</param>
    public static LearnerChoice Make(MLContext ml, IReadOnlyList<LabelledExample> train, int featureCount, TrainingOptions options,
        TrainingOptions treeSize, Action<string>? say = null)
    {
        var folds = FoldOf(train, options.ChoiceFolds, options.Seed);
        var choice = TooFew(train, options, folds.Count) is { } reason
            ? NotMadeBecause(reason, folds.Count)
            : Judge(ml, train, featureCount, options, treeSize, folds);
        say?.Invoke($"served: {choice.Description}");
        return choice;
    }

    private static LearnerChoice Judge(MLContext ml, IReadOnlyList<LabelledExample> train, int featureCount, TrainingOptions options,
        TrainingOptions treeSize, Dictionary<string, int> folds)
    {
        var schema = ModelInput.Schema(featureCount);
        var sums = Candidates.ToDictionary(c => c, _ => 0.0);
        var judged = 0;
        for (var k = 0; k < options.ChoiceFolds; k++)
        {
            var fit = train.Where(e => folds[e.Id] != k).ToList();
            var left = train.Where(e => folds[e.Id] == k && AtScoringPoint(e, options)).ToList();
            var labels = left.Select(e => e.Label).ToArray();
            if (labels.All(l => l) || !labels.Any(l => l))
            {
                continue;   // a fold without both outcomes ranks nothing
            }
            var (fitView, leftView) = (RiskModelTrainer.Load(ml, fit, schema), RiskModelTrainer.Load(ml, left, schema));
            foreach (var candidate in Candidates)
            {
                var chain = RiskModelTrainer.Fit(ml, candidate, fitView, featureCount, candidate == Algorithms.FastTree ? treeSize : options);
                sums[candidate] += Evaluation.Auc(RiskModelTrainer.Read(ml, chain, leftView, o => o.Score), labels);
            }
            judged++;
        }
        if (judged == 0)
        {
            return NotMadeBecause("no fold of the training students holds both outcomes", folds.Count);
        }
        var auc = sums.ToDictionary(p => p.Key, p => p.Value / judged);
        // Strictly better only: a tie keeps FastTree, the learner served before the choice was made.
        var chosen = auc[Algorithms.LogisticRegression] > auc[Algorithms.FastTree] + 1e-9 ? Algorithms.LogisticRegression : Algorithms.FastTree;
        return new LearnerChoice(chosen, auc, judged, folds.Count);
    }

    /// <summary>Why the training students are too few to judge the learners on, or null when they are enough.</summary>
    private static string? TooFew(IReadOnlyList<LabelledExample> train, TrainingOptions options, int students)
    {
        var judged = train.Where(e => AtScoringPoint(e, options)).ToList();
        var positive = judged.Where(e => e.Label).Select(e => e.Id).Distinct().Count();
        var negative = judged.Where(e => !e.Label).Select(e => e.Id).Distinct().Count();
        var needed = options.ChoiceMinimumPerFold * options.ChoiceFolds;
        var (fewer, count) = positive <= negative ? ("positive", positive) : ("negative", negative);
        return count >= needed ? null : string.Create(CultureInfo.InvariantCulture,
            $"only {count} {fewer} students among the {students} training students (judging learners on {options.ChoiceFolds} folds needs {needed}, {options.ChoiceMinimumPerFold} a fold)");
    }

    private static bool AtScoringPoint(LabelledExample e, TrainingOptions options) => options.ScoredAt is not { } at || e.Point == at;

    private static LearnerChoice NotMadeBecause(string reason, int students) =>
        new(Default, new Dictionary<string, double>(), 0, students, reason);

    /// <summary>Each student's fold, from a seeded shuffle of the students: a student's rows (its cuts, its years) share one fold.</summary>
    public static Dictionary<string, int> FoldOf(IReadOnlyList<LabelledExample> examples, int folds, int seed) =>
        RiskModelTrainer.StudentOrder(examples, seed).ToDictionary(p => p.Key, p => p.Value % folds);
}
