using System.Globalization;
using Beacon.RiskModels;
using Beacon.RiskModels.Dropout;
using Beacon.Simulator;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;

namespace Beacon.EarlyWarning.Training;

/// <summary>
/// `beacon-ew-train dropout-ceiling`: how far any model of the observable signals can get, by scoring day. The oracle of
/// `eval dropout` knows each student's latent traits exactly; a model sees only what those traits have shown by the
/// scoring day. Measured on one large held-out district, against models fitted on a large training district where the
/// truth is known: E[p | inputs], the simulator's probability regressed on the served inputs (the best any model of
/// them can rank) and on every summary the signals carry (the observable oracle); the simulator's own model applied to
/// each trait's estimate from the signals; and that model with one trait at a time estimated, the others exact (which
/// trait the signals fail to show). Beside them the served model as `eval dropout` trains it (3,000 students), the
/// same on the large district, and the best transparent rule.
/// </summary>
public static class DropoutCeiling
{
    /// <param name="PriorYearDays">School days of a previous year each student carries (0: none): then every input set, model
    /// and rule also reads last year's attendance, incidents and marks (<see cref="K12PriorYear"/>).</param>
    /// <param name="MiddleTrain">A training size between the platform's and the large one (FastTree only).</param>
    public sealed record Options(int TrainStudents = 50_000, int TestStudents = 20_000, int PlatformTrain = 3_000, int Seed = 101,
        IReadOnlyList<int>? ScoringDays = null, int PriorYearDays = 0, int MiddleTrain = 10_000);

    private const int SchoolDays = 90, MarkingPeriodDays = 15, Chunk = 10_000, Schools = 4;
    private static readonly DateOnly LastDay = new(2026, 6, 12);
    private static readonly string[] TraitNames = ["absence propensity", "engagement", "behaviour", "academic standing", "academic slope"];

    /// <param name="Served">K12DropoutFeatures as Early warning computes them.</param>
    /// <param name="Observable">The served inputs and every further summary a signal carries (see <see cref="Summaries"/>).</param>
    /// <param name="Traits">The latent traits in <see cref="TraitNames"/>' order.</param>
    private sealed record Row(string Id, float[] Served, float[] Observable, bool Label, double Truth, double[] Traits);

    private sealed class RegressionRow
    {
        public float Label { get; set; }
        public float[] Features { get; set; } = [];
    }

    private sealed class RegressionOutput
    {
        public float Score { get; set; }
    }

    public static int Run(Options o, TextWriter log)
    {
        var scoringDays = o.ScoringDays ?? [30, 45, 60, 75];
        var calendar = DistrictGenerator.SchoolDaysEndingOn(LastDay, SchoolDays);
        var cuts = scoringDays.Select(d => calendar[d - 1]).ToArray();
        log.WriteLine($"generating {o.TrainStudents} training and {o.TestStudents} held-out students ({SchoolDays} school days, a previous year of {o.PriorYearDays}), inputs at school days {string.Join(", ", scoringDays)}");
        var train = Rows(o.Seed + 1000, o.TrainStudents, "big", cuts, calendar, o.PriorYearDays);
        var test = Rows(o.Seed + 2000, o.TestStudents, "out", cuts, calendar, o.PriorYearDays);
        var set = o.PriorYearDays > 0 ? K12PriorYear.Set : K12DropoutFeatures.Set;

        var models = new List<string>();
        var byTrait = new List<string>();
        for (var k = 0; k < cuts.Length; k++)
        {
            var labels = test[k].Select(r => r.Label).ToArray();
            double Auc(IEnumerable<double> scores) => Evaluation.Auc(scores.ToArray(), labels);
            log.WriteLine($"school day {scoringDays[k]} ({cuts[k]:yyyy-MM-dd}): training");
            var platform = Classify(set, train[k].Take(o.PlatformTrain).ToList(), test[k], log, chooseLearner: true);
            var served = platform.Served.Report;
            var middle = Classify(set, train[k].Take(o.MiddleTrain).ToList(), test[k], log, chooseLearner: false).Served.Report;
            var large = Classify(set, train[k], test[k], log, chooseLearner: false);
            var rules = DropoutEvaluation.Rules(o.PriorYearDays > 0).Select(r => (r.Description, Auc: Auc(test[k].Select(e => r.Score(e.Served))))).ToList();
            rules.ForEach(r => log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  rule {r.Auc:F3}: {r.Description}")));
            var rule = rules.Max(r => r.Auc);
            var servedInputs = test[k].Select(r => r.Served).ToList();
            var observed = test[k].Select(r => r.Observable).ToList();
            var ofServed = Auc(Regress(train[k], r => r.Served, r => r.Truth, servedInputs));
            var observable = Auc(Regress(train[k], r => r.Observable, r => r.Truth, observed));
            var estimates = Enumerable.Range(0, TraitNames.Length).Select(t => Regress(train[k], r => r.Observable, r => r.Traits[t], observed)).ToArray();
            // The true model on traits of which those in `estimated` are replaced by their estimates from the signals.
            double TrueModel(Func<int, bool> estimated) => Auc(test[k].Select((r, i) => TrueProbability(r.Traits.Select((v, t) => estimated(t) ? estimates[t][i] : v).ToArray())));
            var oracle = Auc(test[k].Select(r => r.Truth));
            models.Add(string.Create(CultureInfo.InvariantCulture,
                $"| {scoringDays[k]} | {served.Auc:F3} ({served.ExpectedCalibrationError:F3}; {platform.Served.Algorithm}) | {middle.Auc:F3} | {large.Served.Report.Auc:F3} "
                + $"| {large.Models.Single(m => m.Algorithm == Algorithms.LogisticRegression).Report.Auc:F3} | {rule:F3} | {ofServed:F3} | {observable:F3} "
                + $"| {TrueModel(_ => true):F3} | {oracle:F3} |"));
            byTrait.Add(string.Create(CultureInfo.InvariantCulture,
                $"| {scoringDays[k]} | {string.Join(" | ", Enumerable.Range(0, TraitNames.Length).Select(t => $"{oracle - TrueModel(u => u == t):F3}"))} |"));
        }
        Console.WriteLine($"| scoring day | as served (learner chosen on the training students), {o.PlatformTrain} trained (ECE; learner) | FastTree, {o.MiddleTrain} trained | FastTree, {o.TrainStudents} trained | logistic regression, {o.TrainStudents} trained "
            + "| best ABC rule | E[p given the served inputs] | observable oracle: E[p given every signal summary] | true model on estimated traits | oracle (true p) |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
        models.ForEach(Console.WriteLine);
        Console.WriteLine();
        // The oracle's AUC minus the true model's with one trait estimated from the signals and the others exact.
        Console.WriteLine($"| scoring day | {string.Join(" | ", TraitNames.Select(t => $"AUC lost, only {t} estimated"))} |");
        Console.WriteLine($"|---|{string.Concat(TraitNames.Select(_ => "---|"))}");
        byTrait.ForEach(Console.WriteLine);
        Console.WriteLine();
        Console.WriteLine($"held out: {o.TestStudents} students of other districts ({test[0].Count(r => r.Label)} dropped out); E[p | ...] and trait estimates fitted on the {o.TrainStudents} training students");
        return 0;
    }

    /// <param name="chooseLearner">False: FastTree, for the columns that measure FastTree by training size.</param>
    private static TrainingResult Classify(FeatureSet set, List<Row> train, List<Row> test, TextWriter log, bool chooseLearner)
    {
        List<LabelledExample> Examples(List<Row> rows) => rows.Select(r => new LabelledExample(r.Id, r.Served, r.Label)).ToList();
        var data = new RiskDataset(set, Examples(train), Examples(test), K12DropoutFeatures.Indicators[0], "simulated districts (ceiling)", $"{train.Count} trained, {test.Count} held out");
        return new RiskModelTrainer(new Progress<string>(m => log.WriteLine("  " + m))).Train(data, new TrainingOptions { ChooseLearner = chooseLearner });
    }

    /// <summary>
    /// E[p | the served inputs] for the students of <paramref name="inputs"/> (inputs as of school day
    /// <paramref name="scoringDay"/>): the best ranking any model of those inputs can give, learnt from
    /// <paramref name="students"/> simulated students whose true probability is known. Mastery inputs are read as absent,
    /// as the offline training students have them (the simulator's answers do not depend on the dropout traits).
    /// </summary>
    public static double[] BestOfInputs(IReadOnlyList<float[]> inputs, int scoringDay, int students, int seed, int priorYearDays = 0)
    {
        var calendar = DistrictGenerator.SchoolDaysEndingOn(LastDay, SchoolDays);
        var train = Rows(seed, students, "best", [calendar[scoringDay - 1]], calendar, priorYearDays)[0];
        var none = K12DropoutFeatures.Compute(StudentSignals.None, LastDay);
        int[] mastery = [K12DropoutFeatures.Set.IndexOf("skills_struggling"), K12DropoutFeatures.Set.IndexOf("mean_mastery")];
        var withoutMastery = inputs.Select(f => f.Select((v, i) => mastery.Contains(i) ? none[i] : v).ToArray()).ToList();
        return Regress(train, r => r.Served, r => r.Truth, withoutMastery);
    }

    /// <summary>A boosted regression of <paramref name="target"/> on <paramref name="inputs"/>, fitted on the training students.</summary>
    private static double[] Regress(List<Row> train, Func<Row, float[]> inputs, Func<Row, double> target, IReadOnlyList<float[]> test)
    {
        var ml = new MLContext(7);
        var schema = SchemaDefinition.Create(typeof(RegressionRow));
        schema[nameof(RegressionRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, inputs(train[0]).Length);
        IDataView Load(IEnumerable<(float[] Features, double Label)> rows) =>
            ml.Data.LoadFromEnumerable(rows.Select(r => new RegressionRow { Label = (float)r.Label, Features = r.Features }).ToArray(), schema);
        var model = ml.Regression.Trainers.FastTree(new FastTreeRegressionTrainer.Options
        {
            NumberOfTrees = 300,
            NumberOfLeaves = 16,
            MinimumExampleCountPerLeaf = 100,
            LearningRate = 0.05,
            NumberOfThreads = 1,
        }).Fit(Load(train.Select(r => (inputs(r), target(r)))));
        return ml.Data.CreateEnumerable<RegressionOutput>(model.Transform(Load(test.Select(f => (f, 0.0)))), reuseRowObject: false).Select(p => (double)p.Score).ToArray();
    }

    private static double[] Traits(StudentInfo s, StudentTraits t) => [s.AbsencePropensity, s.Engagement, t.Behaviour, t.Academic, t.AcademicSlope];

    private static double TrueProbability(double[] t) => DistrictGenerator.DropoutProbability(t[0], t[1], new StudentTraits(t[2], t[3], t[4]));

    /// <summary>Districts of <see cref="Chunk"/> students at a time (each its own seed), every student's inputs at every cut.</summary>
    private static List<Row>[] Rows(int seed, int students, string prefix, DateOnly[] cuts, IReadOnlyList<DateOnly> calendar, int priorYearDays)
    {
        var rows = cuts.Select(_ => new List<Row>()).ToArray();
        var previous = DropoutEvaluation.PreviousYear(LastDay, priorYearDays);
        for (var c = 0; c * Chunk < students; c++)
        {
            var size = Math.Min(Chunk, students - c * Chunk);
            // No item answers: the offline inputs have no mastery (that needs Mastery's BKT), and answers are most of the memory.
            var district = DistrictGenerator.Generate(new SimulationOptions(seed + c, Schools, size / Schools, SchoolDays, LastDay, ItemsPerDay: 0,
                StudentPrefix: $"{prefix}{c}", PriorYearDays: priorYearDays));
            var truth = district.Truth.Outcomes.ToDictionary(t => t.StudentId);
            foreach (var (student, all) in DropoutEvaluation.Signals(district))
            {
                var outcome = truth[student.StudentId];
                var signals = all.Since(calendar[0]);
                var prior = previous is null ? [] : PriorSummaries(PriorYearRecord.Of(all, previous, feedSendsPresentDays: true));
                for (var k = 0; k < cuts.Length; k++)
                {
                    var served = DropoutEvaluation.Inputs(all, calendar[0], previous, cuts[k]);
                    rows[k].Add(new Row(student.StudentId, served, [.. served, .. Summaries(signals, cuts[k], calendar), .. prior], outcome.DroppedOut,
                        outcome.DropoutProbability, Traits(student, outcome.Traits!)));
                }
            }
        }
        return rows;
    }

    /// <summary>
    /// What last year shows beyond its served inputs, for the observable oracle only: each marking period's mean mark,
    /// incidents only the behaviour trait causes (serious or bullying) and truancy, and days present.
    /// </summary>
    private static float[] PriorSummaries(PriorYearRecord? prior)
    {
        var incidents = prior?.Incidents ?? [];
        var terms = (prior?.Marks ?? []).GroupBy(m => m.Term).OrderBy(t => t.Max(m => m.Date)).Select(t => (float)t.Average(m => m.MarkPercent)).ToList();
        return
        [
            .. terms.Concat(Enumerable.Repeat(0f, 4)).Take(4),
            incidents.Count(i => K12DropoutFeatures.IsSerious(i) || i.Category == "bullying"),
            incidents.Count(i => i.Category == "truancy"),
            prior?.Attendance is { } a ? a.Days - a.Absent : 0,
        ];
    }

    /// <summary>
    /// What the signals show beyond the served inputs, for the observable oracle only: each marking period's mean mark and
    /// absence rate at its end, each course's mean (a course's own level persists), incidents split by what only the
    /// behaviour trait causes (suspensions, major, bullying) and what absence brings (truancy), days present, and LMS
    /// activity in the first and second half of the days so far.
    /// </summary>
    private static float[] Summaries(StudentSignals s, DateOnly cut, IReadOnlyList<DateOnly> calendar)
    {
        var days = s.Days.Where(d => d.Date <= cut).ToArray();
        var marks = s.Marks.Where(m => m.Date <= cut).ToArray();
        var values = new List<float>();
        for (var p = 0; p < SchoolDays / MarkingPeriodDays; p++)
        {
            var end = calendar[(p + 1) * MarkingPeriodDays - 1];
            var term = marks.Where(m => m.Term == $"P{p + 1}").ToArray();
            var upTo = days.Where(d => d.Date <= end).ToArray();
            values.Add(term.Length == 0 ? 0 : (float)term.Average(m => m.MarkPercent));
            values.Add(end > cut || upTo.Length == 0 ? 0 : (float)upTo.Count(d => d.IsAbsent) / upTo.Length);
        }
        foreach (var course in new[] { "ENG9", "HIST9", "MATH9", "SCI9" })
        {
            var of = marks.Where(m => m.CourseId == course).ToArray();
            values.Add(of.Length == 0 ? 0 : (float)of.Average(m => m.MarkPercent));
        }
        var incidents = s.Incidents.Where(i => i.Date <= cut).ToArray();
        values.Add(incidents.Count(i => K12DropoutFeatures.IsSerious(i) || i.Category == "bullying"));
        values.Add(incidents.Count(i => i.Category == "truancy"));
        values.Add(incidents.Length);
        values.Add(days.Count(d => !d.IsAbsent));
        var half = days.Length / 2;
        var lms = s.Lms.Where(l => l.Date <= cut).ToArray();
        foreach (var part in new[] { days.Take(half), days.Skip(half) })
        {
            var dates = part.Select(d => d.Date).ToHashSet();
            values.Add(dates.Count == 0 ? 0 : (float)lms.Where(l => dates.Contains(l.Date)).Select(l => l.Date).Distinct().Count() / dates.Count);
        }
        values.Add(lms.Length);
        values.Add((float)lms.Sum(l => l.DurationSeconds) / 60);
        return [.. values];
    }
}
