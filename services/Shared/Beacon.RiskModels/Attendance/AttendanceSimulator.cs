using Beacon.RiskModels.Monitoring;

namespace Beacon.RiskModels.Attendance;

/// <summary>A simulated student's whole term, with the ground truth that produced it.</summary>
public sealed record SimulatedStudent(string StudentId, IReadOnlyList<SchoolDay> Days, double BaseRisk, double WeeklyDrift)
{
    public double TermAbsenceRate => (double)Days.Count(d => d.IsAbsent) / Days.Count;
}

/// <summary>
/// Seeded generator of school-term attendance with the structure real rosters show: a latent,
/// per-student risk (log-odds of missing a day) that drifts week by week (some students slide, some
/// recover), Monday/Friday effects, absences that come in runs, illness episodes (excused) and
/// tardies that go with risk. SYNTHETIC: it stands in for district history that Beacon does not have.
/// </summary>
public sealed class AttendanceSimulator(int seed, int termDays = 90)
{
    private readonly Random _random = new(seed);

    public int TermDays { get; } = termDays;

    public IReadOnlyList<SimulatedStudent> Generate(int students, DateOnly firstDay)
    {
        var result = new List<SimulatedStudent>(students);
        for (var s = 0; s < students; s++)
        {
            result.Add(Student($"sim-{s:D6}", firstDay));
        }
        return result;
    }

    private SimulatedStudent Student(string id, DateOnly firstDay)
    {
        // A minority starts the term already at risk; most attend well.
        var baseRisk = Normal(-3.9, 0.7) + (_random.NextDouble() < 0.12 ? Normal(1.5, 0.5) : 0);
        var drift = Normal(0, 0.09);   // log-odds per week: the slide (or recovery) the model should catch early
        var risk = baseRisk;
        var days = new List<SchoolDay>(TermDays);
        var date = firstDay;
        int illnessLeft = 0, dayIndex = 0;
        var absentYesterday = false;
        while (days.Count < TermDays)
        {
            if (date.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday)
            {
                date = date.AddDays(1);
                continue;
            }
            if (dayIndex > 0 && dayIndex % 5 == 0)
            {
                risk += drift + Normal(0, 0.15);
            }
            string status;
            if (illnessLeft > 0 || _random.NextDouble() < 0.006)
            {
                illnessLeft = illnessLeft > 0 ? illnessLeft - 1 : _random.Next(0, 3);
                status = "excused-absent";
            }
            else
            {
                var logit = risk
                    + (date.DayOfWeek is DayOfWeek.Monday ? 0.3 : 0)
                    + (date.DayOfWeek is DayOfWeek.Friday ? 0.4 : 0)
                    + (absentYesterday ? 1.3 : 0);
                if (_random.NextDouble() < Sigmoid(logit))
                {
                    status = "absent";
                }
                else
                {
                    status = _random.NextDouble() < Sigmoid(risk + 1.0) ? "tardy" : "present";
                }
            }
            absentYesterday = status is "absent" or "excused-absent";
            days.Add(new SchoolDay(date, status));
            date = date.AddDays(1);
            dayIndex++;
        }
        return new SimulatedStudent(id, days, baseRisk, drift);
    }

    /// <summary>
    /// The earliest school day a cold-start example is cut at: the first. The model scores from the first day recorded, so it
    /// learns there too; cut from the ABC indicator's first day (10) only, it read days 1–9 as day 10 with few absences and,
    /// with its threshold, flagged nobody in the first three weeks of the simulated monitoring year (bench/RESULTS.md, issue 21).
    /// </summary>
    public const int FirstScoringDay = 1;

    /// <summary>
    /// One example per student, cut at a uniformly random school day from <paramref name="minDay"/> to <paramref name="maxDay"/>
    /// (default: the term's last), labelled with the whole term: 10 %+ of the term missed. Only days up to the cut-off enter the
    /// features. The served model scores every student on every school day of the year, so it is trained on every point of the
    /// year it is served at (and drift finds training rows at each); one point per student, not several, keeps the rows
    /// independent, the trainer's split by example a split by student, and training as long as before.
    /// </summary>
    public IReadOnlyList<LabelledExample> Examples(IReadOnlyList<SimulatedStudent> students, int minDay = FirstScoringDay, int? maxDay = null)
    {
        var examples = new List<LabelledExample>(students.Count);
        foreach (var student in students)
        {
            var cutoff = _random.Next(minDay, Math.Min(maxDay ?? TermDays, student.Days.Count) + 1);
            examples.Add(new LabelledExample(student.StudentId, AttendanceFeatures.Compute(student.Days.Take(cutoff)), student.TermAbsenceRate >= 0.10, cutoff));
        }
        return examples;
    }

    /// <summary>Two independent cohorts from one seed: train on one, hold the other out (both cut across the term).</summary>
    public static RiskDataset Dataset(int trainStudents, int testStudents, int seed)
    {
        var simulator = new AttendanceSimulator(seed);
        var start = new DateOnly(2025, 9, 1);
        var train = simulator.Examples(simulator.Generate(trainStudents, start));
        var test = simulator.Examples(simulator.Generate(testStudents, start.AddYears(1)));
        var points = DriftReference.Range(FirstScoringDay, simulator.TermDays);
        return new RiskDataset(AttendanceFeatures.Set, train, test, AttendanceFeatures.IndicatorBaseline(),
            $"synthetic attendance (AttendanceSimulator seed {seed}, {simulator.TermDays}-day term); features as of {points}",
            $"held-out: a separately generated cohort of {testStudents} students (train {trainStudents}); each student's features as of one random school day {FirstScoringDay}–{simulator.TermDays}");
    }

    private double Normal(double mean, double sd)
    {
        var u1 = 1.0 - _random.NextDouble();
        var u2 = _random.NextDouble();
        return mean + sd * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Sin(2.0 * Math.PI * u2);
    }

    private static double Sigmoid(double x) => 1.0 / (1.0 + Math.Exp(-x));
}
