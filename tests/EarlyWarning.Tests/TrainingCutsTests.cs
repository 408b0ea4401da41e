using Beacon.RiskModels;
using Beacon.RiskModels.Dropout;
using Beacon.RiskModels.History;

namespace Beacon.EarlyWarning.Tests;

/// <summary>Training students cut at several points of the year: which points, and that no student crosses a split.</summary>
public sealed class TrainingCutsTests
{
    [Theory]
    [InlineData(45, new[] { 15, 30, 45 })]
    [InlineData(20, new[] { 6, 13, 20 })]
    [InlineData(12, new[] { 8, 12 })]   // a third of 12 is before the first day worth cutting at
    [InlineData(5, new[] { 5 })]
    [InlineData(1, new[] { 1 })]
    public void A_student_is_cut_at_the_scoring_point_and_at_a_third_and_two_thirds_of_it(int scoringDay, int[] expected) =>
        Assert.Equal(expected, TrainingCuts.For(scoringDay));

    [Fact]
    public void Every_row_of_a_student_falls_on_one_side_of_the_calibration_split()
    {
        // 400 students with three rows each (cut at days 15, 30, 45), interleaved as the eval builds them (by cut, then student).
        var rows = TrainingCuts.For(45).SelectMany(day => Enumerable.Range(0, 400)
            .Select(s => new LabelledExample($"s{s}", [s, day], s % 7 == 0, day))).ToList();

        var (fit, calibration) = RiskModelTrainer.Split(rows, 0.2, seed: 7);

        Assert.Equal(rows.Count, fit.Count + calibration.Count);
        Assert.Empty(fit.Select(e => e.Id).Intersect(calibration.Select(e => e.Id)));
        Assert.Equal(80, calibration.Select(e => e.Id).Distinct().Count());
        Assert.All(calibration.GroupBy(e => e.Id).Concat(fit.GroupBy(e => e.Id)), student => Assert.Equal([15, 30, 45], student.Select(e => e.Point)));
    }

    [Fact]
    public void With_one_row_a_student_the_split_is_the_shuffle_by_example_it_was()
    {
        var rows = Enumerable.Range(0, 500).Select(s => new LabelledExample($"s{s}", [s], s % 5 == 0)).ToList();
        var random = new Random(7);
        var shuffled = rows.OrderBy(_ => random.Next()).ToList();

        var (fit, calibration) = RiskModelTrainer.Split(rows, 0.2, seed: 7);

        Assert.Equal(shuffled.Take(100), calibration);
        Assert.Equal(shuffled.Skip(100), fit);
    }

    [Fact]
    public void Earlier_cuts_are_fitted_on_but_the_model_is_calibrated_and_thresholded_at_the_scoring_point_only()
    {
        var data = Dataset(trainStudents: 1500, withEarlierCuts: true);
        var result = new RiskModelTrainer().Train(data, new TrainingOptions { Trees = 40, Leaves = 8, ScoredAt = 45 });

        // The calibration slice is a fifth of the students, each at the scoring point only (threshold, Platt and the early line).
        Assert.Equal(300, result.Served.Calibration!.Scores.Count);
        Assert.Null(result.ThresholdPoints);
        Assert.Null(result.Served.EarlyLine);
        Assert.Equal(1000, result.Served.Report.Examples);
        Assert.InRange(result.Served.Report.Auc, 0.70, 1.0);
        Assert.InRange(result.Served.Report.ExpectedCalibrationError, 0, 0.06);
        // The threshold flags about the configured top share of the held-out students (all at the scoring point), as it
        // would without the earlier rows: calibrated on day-15 rows it would flag far fewer.
        Assert.InRange(result.Served.Report.FlaggedShare, 0.05, 0.17);
    }

    /// <summary>Synthetic K-12 students (the cold start's simulator) cut at school day 45, with earlier cuts of the training students when asked.</summary>
    private static RiskDataset Dataset(int trainStudents, bool withEarlierCuts)
    {
        var first = new DateOnly(2025, 9, 1);
        var days = withEarlierCuts ? TrainingCuts.For(45) : [45];
        var train = new K12DropoutSimulator(5).Generate(trainStudents, first, K12DropoutSimulator.TermDays, "tr");
        var test = new K12DropoutSimulator(6).Generate(1000, first, K12DropoutSimulator.TermDays, "te");
        LabelledExample At(SimulatedK12Student s, int day) => new(s.StudentId, K12DropoutFeatures.Compute(s.Signals, s.Signals.Days[day - 1].Date), s.DroppedOut, day);
        return new RiskDataset(K12DropoutFeatures.Set, [.. days.SelectMany(d => train.Select(s => At(s, d)))], [.. test.Select(s => At(s, 45))],
            K12DropoutFeatures.Indicators[0], "synthetic K-12 students", "by student");
    }
}
