using Beacon.RiskModels;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Monitoring;
using Beacon.Simulator;
using Xunit.Abstractions;

namespace Beacon.EarlyWarning.Tests;

/// <summary>One small chronic-absence model for the drift tests (training takes seconds; do it once).</summary>
public sealed class SmallModel : IDisposable
{
    public SmallModel()
    {
        Result = new RiskModelTrainer().Train(AttendanceSimulator.Dataset(1500, 500, 3), new TrainingOptions { Trees = 40, Leaves = 8 });
        Folder = Path.Combine(Path.GetTempPath(), "beacon-tests", $"drift-{Guid.NewGuid():N}");
        Model = new RiskModel(RiskModelFile.Save(Result, Folder), AttendanceFeatures.Kind, Result.Served.Threshold);
    }

    public TrainingResult Result { get; }
    public RiskModel Model { get; }
    private string Folder { get; }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}

/// <summary>
/// Drift on simulated districts, in process: the monitoring window against the live baseline and the
/// training reference. Figures are printed (dotnet test --logger "console;verbosity=detailed").
/// </summary>
public sealed class DriftMonitoringTests(SmallModel small, ITestOutputHelper output) : IClassFixture<SmallModel>
{
    private static readonly DateOnly LastDay = new(2027, 6, 11);

    private static Dictionary<string, SchoolDay[]> Attendance(int seed, int? shiftFromDay, int days = 150, int students = 250) =>
        DistrictGenerator.Generate(new SimulationOptions(seed, Schools: 2, StudentsPerSchool: students, SchoolDays: days, LastDay: LastDay, ItemsPerDay: 0, ShiftFromDay: shiftFromDay))
            .Attendance.GroupBy(a => a.StudentId).ToDictionary(g => g.Key, g => g.Select(a => new SchoolDay(a.Date, a.Status)).OrderBy(d => d.Date).ToArray());

    /// <summary>The window as the service builds it: each student over their last 20–30 school days up to day <paramref name="dayIndex"/>.</summary>
    private (float[][] Features, double[] Scores) Window(Dictionary<string, SchoolDay[]> students, int dayIndex)
    {
        var features = students.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => DriftAnalysis.MonitoringWindow(s.Key, s.Value.Take(dayIndex + 1))).ToArray();
        return (features, small.Model.Probabilities(features).Select(p => (double)p).ToArray());
    }

    private DriftResult Compare(DriftReference reference, (float[][] Features, double[] Scores) window) =>
        DriftAnalysis.Compare(AttendanceFeatures.Set, reference, window.Features, window.Scores);

    [Fact]
    public void A_planted_recording_change_mid_year_is_detected_and_the_same_year_without_it_is_not()
    {
        const int shiftDay = 75;   // school day 75 of 150: a late arrival is recorded as an absence from then on
        var shifted = Attendance(seed: 5, shiftFromDay: shiftDay);
        var control = Attendance(seed: 5, shiftFromDay: null);
        var baselineShifted = Window(shifted, 29);
        var baselineControl = Window(control, 29);
        var reference = new DriftReference(baselineShifted.Features, baselineShifted.Scores);
        var controlReference = new DriftReference(baselineControl.Features, baselineControl.Scores);

        int? firstAlarm = null;
        var controlAlarms = 0;
        for (var day = 34; day < 150; day += 5)   // weekly, as a daily job's Friday
        {
            var withShift = Compare(reference, Window(shifted, day));
            var without = Compare(controlReference, Window(control, day));
            output.WriteLine($"school day {day + 1,3}: score PSI with shift {withShift.ScoreDrift.Psi:F3} ({withShift.ScoreDrift.Band}), without {without.ScoreDrift.Psi:F3}; "
                + $"tardies PSI with shift {withShift.Measures.Single(m => m.Measure == "tardies").Psi:F2}");
            if (withShift.ScoreDrift.Band == DriftBand.Significant)
            {
                firstAlarm ??= day + 1;
            }
            controlAlarms += without.ScoreDrift.Band == DriftBand.Significant ? 1 : 0;
        }
        Assert.NotNull(firstAlarm);
        Assert.True(firstAlarm > shiftDay, $"alarm on school day {firstAlarm}, before the shift on day {shiftDay}");
        Assert.True(firstAlarm <= shiftDay + 30, $"alarm only on school day {firstAlarm}; the shift began on day {shiftDay}");
        Assert.Equal(0, controlAlarms);
    }

    [Fact]
    public void Identically_distributed_districts_raise_few_false_alarms_over_many_seeds()
    {
        const int seeds = 20;
        var alarms = 0;
        var psis = new List<double>();
        for (var seed = 1; seed <= seeds; seed++)
        {
            // Two districts drawn from the same generator, compared on the same school day.
            var baseline = Window(Attendance(seed, null, days: 60), 59);
            var current = Window(Attendance(seed + 1000, null, days: 60), 59);
            var drift = Compare(new DriftReference(baseline.Features, baseline.Scores), current);
            psis.Add(drift.ScoreDrift.Psi);
            alarms += drift.ScoreDrift.Band == DriftBand.Significant ? 1 : 0;
        }
        output.WriteLine($"{seeds} seeds: score PSI mean {psis.Average():F3}, max {psis.Max():F3}; significant {alarms}");
        Assert.True(alarms <= 1, $"{alarms} of {seeds} identically distributed districts alarmed");
        Assert.True(psis.Count(p => p >= 0.10) <= 2, $"{psis.Count(p => p >= 0.10)} of {seeds} even reached moderate");
    }

    [Fact]
    public void A_fresh_cohort_of_the_training_generator_is_stable_against_the_training_reference()
    {
        var reference = small.Result.Served.DriftReference!;
        Assert.Equal(Math.Min(DriftReference.MaximumRows, small.Result.Served.Calibration!.Scores.Count), reference.Features.Count);
        var simulator = new AttendanceSimulator(seed: 99);
        var cohort = simulator.Generate(1000, new DateOnly(2026, 9, 1));
        // Training cut students at school day 20–30 from the first day; so does this window at day 30.
        var rows = simulator.EarlyExamples(cohort).Select(e => e.Features).ToArray();
        var drift = DriftAnalysis.Compare(AttendanceFeatures.Set, reference, rows, small.Model.Probabilities(rows).Select(p => (double)p).ToArray());
        output.WriteLine(string.Join("\n", drift.Measures.Select(m => $"{m.Measure,-24} PSI {m.Psi:F3} KS {m.KolmogorovSmirnov:F3} W1 {m.Wasserstein:F3}")));
        Assert.NotEqual(DriftBand.Significant, drift.ScoreDrift.Band);
        Assert.All(drift.Measures, m => Assert.NotEqual(DriftBand.Significant, m.Band));
    }

    [Fact]
    public void The_training_reference_keeps_its_points_of_the_year_and_a_window_is_compared_at_the_same_points()
    {
        var card = small.Result.Served.DriftReference!;
        Assert.Equal(card.Features.Count, card.Points!.Count);
        Assert.Equal("school days 20–30", card.DescribePoints());   // the training cut-offs
        Assert.Null(new DriftReference(card.Features, card.Scores).AtPoints([25]));   // a card without points

        // A reference as large as a card keeps (2,000 rows, about 180 at each school day 20–30), built like the training rows.
        var simulator = new AttendanceSimulator(seed: 97);
        var rows = simulator.EarlyExamples(simulator.Generate(2000, new DateOnly(2026, 9, 1)));
        var reference = DriftReference.From(rows, small.Model.Probabilities(rows.Select(r => r.Features).ToArray()).Select(p => (double)p).ToArray());
        // A window of 300 students at school day 28 and 100 at day 33 (late enrollees are not at the same point).
        var match = reference.AtPoints([.. Enumerable.Repeat(28, 300), .. Enumerable.Repeat(33, 100)])!;
        Assert.All(match.Reference.Points!, p => Assert.Equal(28, p));                      // only 28 is a point it was trained at
        Assert.Equal(Enumerable.Range(0, 300), match.CurrentRows);
        Assert.True(match.Reference.Features.Count >= DriftReference.MinimumRowsAtPoints && match.Reference.Features.Count == match.Reference.Scores.Count);
        var spread = reference.AtPoints([.. Enumerable.Repeat(21, 50), .. Enumerable.Repeat(22, 100)])!;
        var (at21, at22) = (spread.Reference.Points!.Count(p => p == 21), spread.Reference.Points!.Count(p => p == 22));
        Assert.InRange(at22, 2 * at21 - 1, 2 * at21 + 1);                                    // the window's proportions, 1 : 2
        Assert.Null(reference.AtPoints([.. Enumerable.Repeat(60, 400)]));                      // never trained there
        Assert.Null(reference.AtPoints([.. Enumerable.Repeat(25, 100), .. Enumerable.Repeat(60, 300)]));   // most of the window outside

        // A fresh cohort served as the scoring path serves it (the year so far). At school day 25, against the rows cut at
        // day 25: nothing moved. At school day 90, against every row (it was never trained there): the inputs that grow
        // with the year move, which is the training/serving skew ops must see.
        var cohort = new AttendanceSimulator(seed: 98).Generate(1000, new DateOnly(2026, 9, 1));
        DriftResult Served(DriftReference against, int day)
        {
            var served = cohort.Select(s => AttendanceFeatures.Compute(s.Days.Take(day))).ToArray();
            // Rounded as the reference's scores are (and as the service rounds what it serves): the scores of trees tie.
            var result = DriftAnalysis.Compare(AttendanceFeatures.Set, against, served, small.Model.Probabilities(served).Select(p => Math.Round((double)p, 5)).ToArray());
            output.WriteLine($"day {day}: " + string.Join(", ", result.Measures.Select(m => $"{m.Measure} {m.Psi:F3}")));
            return result;
        }
        Assert.All(Served(reference.AtPoints([.. Enumerable.Repeat(25, cohort.Count)])!.Reference, 25).Measures, m => Assert.NotEqual(DriftBand.Significant, m.Band));
        Assert.Equal(DriftBand.Significant, Served(reference, 90).Measures.Single(m => m.Measure == "days_enrolled").Band);
    }

    [Fact]
    public void The_monitoring_window_is_20_to_30_days_fixed_per_student()
    {
        var days = Enumerable.Range(0, 60).Select(i => new SchoolDay(new DateOnly(2026, 9, 1).AddDays(i), i % 4 == 0 ? "absent" : "present")).ToArray();
        var lengths = Enumerable.Range(0, 500).Select(i => DriftAnalysis.MonitoringWindow($"stu-{i}", days)[AttendanceFeatures.Set.IndexOf("days_enrolled")]).ToArray();
        Assert.All(lengths, n => Assert.InRange(n, 20, 30));
        Assert.True(lengths.Distinct().Count() >= 10, "window lengths should spread over 20–30 like the training cut-offs");
        Assert.Equal(DriftAnalysis.MonitoringWindow("stu-7", days), DriftAnalysis.MonitoringWindow("stu-7", days.Reverse()));
    }
}
