using Beacon.EarlyWarning.Monitoring;
using Beacon.RiskModels;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Monitoring;
using Beacon.Simulator;
using Xunit.Abstractions;

namespace Beacon.EarlyWarning.Tests;

/// <summary>
/// One chronic-absence model for the drift tests, trained once with the service's training options on 8,000 simulated students (the
/// service trains its cold start on 20,000). A smaller one (1,500 students, 40 trees of 8 leaves) trained from school day 1 moved its
/// score with the simulator's seasonal slide further (PSI 0.29 by day 110 of an unchanged 150-day year; bench/RESULTS.md, issue 21).
/// </summary>
public sealed class SmallModel : IDisposable
{
    public SmallModel()
    {
        Result = new RiskModelTrainer().Train(AttendanceSimulator.Dataset(8000, 500, 3), new TrainingOptions());
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
        int? firstInputAlarm = null;
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
            // The simulated year has a real slow slide (absence rises through it). A model trained across the year reads its
            // absence rate as it is, so once that rate has itself drifted significantly from the baseline's the score may
            // follow; before that, an alarm on the control would be a false one.
            var absenceRate = without.Measures.Single(m => m.Measure == "absence_rate");
            output.WriteLine($"               control's absence rate PSI {absenceRate.Psi:F3}");
            controlAlarms += without.ScoreDrift.Band == DriftBand.Significant && absenceRate.Band != DriftBand.Significant ? 1 : 0;
            // A named input past the default input alarm bound alarms whatever the score does: never in the unchanged year.
            controlAlarms += DriftAlarm.Of(AttendanceFeatures.Kind, without, new MonitoringOptions()).Moved.Count;
            if (DriftAlarm.Of(AttendanceFeatures.Kind, withShift, new MonitoringOptions()).Moved.Any(m => m.Measure == "tardies"))
            {
                firstInputAlarm ??= day + 1;
            }
        }
        Assert.NotNull(firstAlarm);
        Assert.True(firstAlarm > shiftDay, $"alarm on school day {firstAlarm}, before the shift on day {shiftDay}");
        Assert.True(firstAlarm <= shiftDay + 30, $"alarm only on school day {firstAlarm}; the shift began on day {shiftDay}");
        Assert.NotNull(firstInputAlarm);
        Assert.InRange(firstInputAlarm!.Value, shiftDay + 1, shiftDay + 30);
        Assert.Equal(0, controlAlarms);
    }

    /// <summary>
    /// How <see cref="MonitoringOptions.DefaultInputAlarmPsi"/> was set: the largest PSI of any input against the day-30 baseline,
    /// weekly over unchanged 180-day simulated years (three districts), is under half of it (the bound is twice the largest such PSI
    /// measured, here or on the demo district's backfill). The seasons (absence rises through the simulated year) stay under it;
    /// the planted recording change of the test above goes far over it.
    /// </summary>
    [Fact]
    public void Unchanged_simulated_years_stay_under_the_default_input_alarm_bound()
    {
        var largest = 0.0;
        foreach (var seed in new[] { 5, 6, 7 })
        {
            var year = Attendance(seed, shiftFromDay: null, days: 180);
            var baseline = Window(year, 29);
            var reference = new DriftReference(baseline.Features, baseline.Scores);
            var top = Enumerable.Range(0, 30).Select(week => 34 + 5 * week).Where(day => day < 180)
                .SelectMany(day => Compare(reference, Window(year, day)).Measures.Where(m => m.Measure != DriftResult.Score).Select(m => (Day: day + 1, m.Measure, m.Psi)))
                .MaxBy(m => m.Psi);
            output.WriteLine($"seed {seed}: largest input PSI {top.Psi:F3} ({top.Measure}, school day {top.Day})");
            largest = Math.Max(largest, top.Psi);
        }
        output.WriteLine($"largest over the years {largest:F3}; twice that, rounded up: {Math.Ceiling(20 * largest) / 10:F1}");
        var bound = MonitoringOptions.DefaultInputAlarmPsi[AttendanceFeatures.Kind];
        Assert.True(2 * largest <= bound, $"the bound {bound} is not twice the seasons' largest input PSI {largest:F3}");
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
        Assert.Equal(Math.Min(DriftReference.MaximumRows, small.Result.Served.DriftReference!.Scores.Count), reference.Features.Count);
        var simulator = new AttendanceSimulator(seed: 99);
        var cohort = simulator.Generate(1000, new DateOnly(2026, 9, 1));
        // Training cut each student at a random school day of the term; so does this window.
        var rows = simulator.Examples(cohort).Select(e => e.Features).ToArray();
        // Scores rounded as the card's and the service's are: the scores of trees tie, and an unrounded tie splits a decile.
        var drift = DriftAnalysis.Compare(AttendanceFeatures.Set, reference, rows, small.Model.Probabilities(rows).Select(p => Math.Round((double)p, 5)).ToArray());
        output.WriteLine(string.Join("\n", drift.Measures.Select(m => $"{m.Measure,-24} PSI {m.Psi:F3} KS {m.KolmogorovSmirnov:F3} W1 {m.Wasserstein:F3}")));
        Assert.NotEqual(DriftBand.Significant, drift.ScoreDrift.Band);
        Assert.All(drift.Measures, m => Assert.NotEqual(DriftBand.Significant, m.Band));
    }

    [Fact]
    public void The_training_reference_keeps_its_points_of_the_year_evenly_and_a_window_is_compared_at_the_same_points()
    {
        var card = small.Result.Served.DriftReference!;
        Assert.Equal(card.Features.Count, card.Points!.Count);
        Assert.Equal("school days 1–90", card.DescribePoints());   // the training cut-offs: the whole term from the rule's first day
        Assert.Null(new DriftReference(card.Features, card.Scores).AtPoints([25]));   // a card without points

        // A card as large as they get (2,000 rows) from 4,000 rows cut across the term keeps the same number at every point.
        var simulator = new AttendanceSimulator(seed: 97);
        var rows = simulator.Examples(simulator.Generate(4000, new DateOnly(2026, 9, 1)));
        var reference = DriftReference.From(rows, small.Model.Probabilities(rows.Select(r => r.Features).ToArray()).Select(p => (double)p).ToArray());
        Assert.Equal(DriftReference.MaximumRows, reference.Features.Count);
        var perPoint = reference.Points!.CountBy(p => p).Select(p => p.Value).ToArray();
        Assert.Equal(90, perPoint.Length);
        Assert.InRange(perPoint.Max() - perPoint.Min(), 0, 1);
        Assert.All(Enumerable.Range(0, reference.Features.Count), i => Assert.Equal(rows.Single(r => r.Features == reference.Features[i]).Point, reference.Points![i]));

        // A week's window: 100 students at each of school days 26–30, and 100 at day 95, after the term it was trained on.
        int[] week = [.. Enumerable.Range(26, 5).SelectMany(d => Enumerable.Repeat(d, 100))];
        var match = reference.AtPoints([.. week, .. Enumerable.Repeat(95, 100)])!;
        Assert.All(match.Reference.Points!, p => Assert.InRange(p, 26, 30));
        Assert.All(match.CurrentRows, i => Assert.InRange(i, 0, 499));                     // day 95 is left out
        Assert.True(match.Reference.Features.Count >= DriftReference.MinimumRowsAtPoints && match.Reference.Features.Count == match.Reference.Scores.Count);
        // Both sides in the same proportions, and neither loses most of its rows to the other's.
        // (A card spreads its 2,000 rows over 90 school days, 22 a day: six days' rows are enough to compare with.)
        var spread = reference.AtPoints([.. Enumerable.Repeat(40, 50), .. Enumerable.Repeat(41, 100), .. Enumerable.Repeat(42, 150), .. Enumerable.Repeat(43, 150),
            .. Enumerable.Repeat(44, 150), .. Enumerable.Repeat(45, 150)])!;
        var currentPoints = spread.CurrentRows.Select(i => i < 50 ? 40 : i < 150 ? 41 : i < 300 ? 42 : i < 450 ? 43 : i < 600 ? 44 : 45).ToArray();
        foreach (var day in Enumerable.Range(40, 6))
        {
            var (referenceShare, currentShare) = ((double)spread.Reference.Points!.Count(p => p == day) / spread.Reference.Points!.Count, (double)currentPoints.Count(p => p == day) / currentPoints.Length);
            Assert.InRange(referenceShare - currentShare, -0.02, 0.02);
        }
        Assert.True(spread.Reference.Features.Count >= 100 && spread.CurrentRows.Count >= 300, $"{spread.Reference.Features.Count} reference rows, {spread.CurrentRows.Count} served rows kept");
        Assert.Null(reference.AtPoints([.. Enumerable.Repeat(95, 400)]));                      // never trained there
        Assert.Null(reference.AtPoints([.. Enumerable.Repeat(25, 100), .. Enumerable.Repeat(95, 300)]));   // most of the window outside
        Assert.Null(reference.AtPoints([.. Enumerable.Repeat(60, 400)]));                      // one day: a few dozen rows, too few alone
    }

    /// <summary>
    /// A cohort served as the drift check reads the week to <paramref name="day"/>: each student as of one of the week's five school
    /// days (fixed per student, <see cref="DriftAnalysis.ServedMoment"/>), the year so far, scored as the service rounds scores.
    /// </summary>
    private (float[][] Features, double[] Scores, int[] Points) ServedWeek(IReadOnlyList<SimulatedStudent> cohort, int day)
    {
        var points = cohort.Select(s => DriftAnalysis.ServedMoment(s.StudentId, [.. Enumerable.Range(day - 4, 5)])).ToArray();
        var features = cohort.Select((s, i) => AttendanceFeatures.Compute(s.Days.Take(points[i]))).ToArray();
        // Rounded as the reference's scores are: the scores of trees tie.
        return (features, small.Model.Probabilities(features).Select(p => Math.Round((double)p, 5)).ToArray(), points);
    }

    private DriftResult AgainstTraining(DriftReference reference, (float[][] Features, double[] Scores, int[] Points) week, bool samePoints = true)
    {
        var match = samePoints ? reference.AtPoints(week.Points) ?? throw new InvalidOperationException("no training rows at the week's points") : null;
        var rows = match?.CurrentRows ?? Enumerable.Range(0, week.Features.Length).ToArray();
        var result = DriftAnalysis.Compare(AttendanceFeatures.Set, match?.Reference ?? reference, [.. rows.Select(i => week.Features[i])], [.. rows.Select(i => week.Scores[i])]);
        output.WriteLine($"{(samePoints ? "same points" : "every row")} ({result.ReferenceRows} rows): " + string.Join(", ", result.Measures.Select(m => $"{m.Measure} {m.Psi:F3}")));
        return result;
    }

    [Fact]
    public void Late_in_the_term_an_unshifted_cohort_is_stable_against_the_training_rows_at_its_points_and_a_planted_shift_is_not()
    {
        // A reference as a card of the default training size keeps it: 2,000 rows over school days 1–90.
        var simulator = new AttendanceSimulator(seed: 96);
        var rows = simulator.Examples(simulator.Generate(4000, new DateOnly(2026, 9, 1)));
        var reference = DriftReference.From(rows, small.Model.Probabilities(rows.Select(r => r.Features).ToArray()).Select(p => Math.Round((double)p, 5)).ToArray());
        var cohort = new AttendanceSimulator(seed: 98).Generate(1000, new DateOnly(2026, 9, 1));

        foreach (var day in new[] { 30, 60, 90 })
        {
            var unshifted = AgainstTraining(reference, ServedWeek(cohort, day));
            Assert.NotEqual(DriftBand.Significant, unshifted.ScoreDrift.Band);
            Assert.All(unshifted.Measures, m => Assert.NotEqual(DriftBand.Significant, m.Band));
        }

        // From school day 45 a late arrival is recorded as an absence (the simulator's --shift-day): by the end of the term the
        // served inputs and scores have moved from what the model learnt at the same points.
        var shifted = cohort.Select(s => s with { Days = [.. s.Days.Select((d, i) => i >= 44 && d.Status == "tardy" ? d with { Status = "absent" } : d)] }).ToArray();
        var drift = AgainstTraining(reference, ServedWeek(shifted, 90));
        Assert.Equal(DriftBand.Significant, drift.ScoreDrift.Band);
        Assert.Equal(DriftBand.Significant, drift.Measures.Single(m => m.Measure == "tardies").Band);

        // Before the fix the cold start was cut at school days 20–30 only: the same unshifted late-term week had no training rows at
        // its points, was compared with every row, and the inputs that grow with the year and the score were significant.
        var early = simulator.Examples(simulator.Generate(4000, new DateOnly(2026, 9, 1)), minDay: 20, maxDay: 30);
        var old = DriftReference.From(early, small.Model.Probabilities(early.Select(r => r.Features).ToArray()).Select(p => Math.Round((double)p, 5)).ToArray());
        Assert.Null(old.AtPoints(ServedWeek(cohort, 90).Points));
        var skew = AgainstTraining(old, ServedWeek(cohort, 90), samePoints: false);
        Assert.Equal(DriftBand.Significant, skew.Measures.Single(m => m.Measure == "days_enrolled").Band);
        Assert.Equal(DriftBand.Significant, skew.ScoreDrift.Band);
    }

    [Fact]
    public void The_monitoring_window_is_20_to_30_days_fixed_per_student()
    {
        var days = Enumerable.Range(0, 60).Select(i => new SchoolDay(new DateOnly(2026, 9, 1).AddDays(i), i % 4 == 0 ? "absent" : "present")).ToArray();
        var lengths = Enumerable.Range(0, 500).Select(i => DriftAnalysis.MonitoringWindow($"stu-{i}", days)[AttendanceFeatures.Set.IndexOf("days_enrolled")]).ToArray();
        Assert.All(lengths, n => Assert.InRange(n, 20, 30));
        Assert.True(lengths.Distinct().Count() >= 10, "window lengths should spread over 20–30");
        Assert.Equal(DriftAnalysis.MonitoringWindow("stu-7", days), DriftAnalysis.MonitoringWindow("stu-7", days.Reverse()));
    }
}
