using Beacon.RiskModels.Attendance;

namespace Beacon.RiskModels.Dropout;

/// <summary>A simulated student's signals up to the scoring date and the year's outcome drawn from the truth.</summary>
public sealed record SimulatedK12Student(string StudentId, StudentSignals Signals, double DropoutProbability, bool DroppedOut);

/// <summary>
/// SYNTHETIC K-12 students for the dropout model's cold start (a district with no labelled history yet).
/// Each student has four latent traits: attendance risk, behaviour, academic standing (with a slope over the
/// year) and engagement. Every signal is a noisy view of them: daily attendance, five courses marked each
/// marking period, behaviour incidents with suspensions, skill mastery and LMS activity. The year's dropout
/// is drawn from a known logistic model of the traits (<see cref="TruthModel"/>), so the best any model can
/// do is the true probability, and a model on the signals can be measured against it. Each student also has a previous
/// school year drawn from the same traits (<see cref="StudentSignals.Previous"/>: attendance, incidents and marks), unknown
/// for one in five (new to the district), from a random stream of its own so this year's signals of a seed are unchanged.
/// </summary>
public sealed class K12DropoutSimulator(int seed)
{
    public const string TruthModel = "logit(p) = -3.3 + 1.0*attendanceRisk + 0.8*behaviour - 0.9*academic - 0.6*academicSlope - 0.4*engagement (traits standardised)";

    private static readonly string[] Courses = ["MATH", "ELA", "SCIENCE", "HISTORY", "ELECTIVE"];
    private const int MarkingPeriodDays = 15;
    private readonly Random _random = new(seed);
    private readonly Random _prior = new(unchecked(seed * 71 + 13));

    /// <summary>Last year's school days, and the share of students the district has no record of from then.</summary>
    private const int PriorYearDays = 180;
    private const double NewStudents = 0.2;

    /// <summary>Students with <paramref name="schoolDays"/> school days from <paramref name="firstDay"/>.</summary>
    public IReadOnlyList<SimulatedK12Student> Generate(int students, DateOnly firstDay, int schoolDays, string idPrefix = "sim")
    {
        var calendar = new List<DateOnly>(schoolDays);
        for (var d = firstDay; calendar.Count < schoolDays; d = d.AddDays(1))
        {
            if (d.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday))
            {
                calendar.Add(d);
            }
        }
        // Last year: weekdays ending ten weeks before this year's first day (the summer between).
        var lastYear = new List<DateOnly>(PriorYearDays);
        for (var d = firstDay.AddDays(-70); lastYear.Count < PriorYearDays; d = d.AddDays(-1))
        {
            if (d.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday))
            {
                lastYear.Insert(0, d);
            }
        }
        return Enumerable.Range(0, students).Select(i => Student($"{idPrefix}-{i:D6}", calendar, lastYear)).ToList();
    }

    private SimulatedK12Student Student(string id, IReadOnlyList<DateOnly> calendar, IReadOnlyList<DateOnly> lastYear)
    {
        // Standardised traits, mildly correlated as they are in schools.
        var attendance = Normal() + (_random.NextDouble() < 0.12 ? 1.5 : 0);
        var behaviour = 0.3 * attendance + 0.95 * Normal();
        var academic = -0.35 * attendance + 0.9 * Normal();
        var slope = 0.8 * Normal();
        var engagement = 0.4 * academic + 0.9 * Normal();

        var days = new List<SchoolDay>(calendar.Count);
        var incidents = new List<IncidentSignal>();
        var lms = new List<LmsSignal>();
        var marks = new List<MarkSignal>();
        var courseOffsets = Courses.Select(_ => 6 * Normal()).ToArray();
        var absences = 0;
        for (var d = 0; d < calendar.Count; d++)
        {
            var date = calendar[d];
            var progress = (double)d / calendar.Count;
            var pAbsent = Sigmoid(-3.0 + 0.9 * attendance + 0.5 * progress * Math.Max(0, attendance) + (date.DayOfWeek is DayOfWeek.Monday or DayOfWeek.Friday ? 0.3 : 0));
            var roll = _random.NextDouble();
            var status = roll < pAbsent ? (_random.NextDouble() < 0.25 ? "excused-absent" : "absent") : roll < pAbsent + 0.03 ? "tardy" : "present";
            days.Add(new SchoolDay(date, status));
            absences += status.EndsWith("absent", StringComparison.Ordinal) ? 1 : 0;
            if (status is "present" or "tardy")
            {
                if (_random.NextDouble() < Sigmoid(-4.6 + 1.0 * behaviour))
                {
                    var serious = _random.NextDouble() < 0.2;
                    incidents.Add(new IncidentSignal(date, serious && _random.NextDouble() < 0.5 ? "out-of-school-suspension" : Pick(["disruption", "defiance", "fighting", "truancy"]),
                        serious ? "major" : _random.NextDouble() < 0.7 ? "minor" : "moderate"));
                }
                if (_random.NextDouble() < Sigmoid(-0.2 + 1.1 * engagement))
                {
                    lms.Add(new LmsSignal(date, 300 + 1200 * _random.NextDouble()));
                }
            }
            if ((d + 1) % MarkingPeriodDays == 0 || d == calendar.Count - 1)
            {
                var period = d / MarkingPeriodDays + 1;
                var rateSoFar = (double)absences / (d + 1);
                for (var c = 0; c < Courses.Length; c++)
                {
                    var mark = 76 + 9 * (academic + slope * progress) + courseOffsets[c] - 40 * rateSoFar + 5 * Normal();
                    marks.Add(new MarkSignal(Courses[c], $"P{period}", Math.Round(Math.Clamp(mark, 0, 100), 1), date));
                }
            }
        }
        var mastery = Enumerable.Range(0, 6).Select(s => new MasterySignal($"skill-{s}", Sigmoid(0.4 + 1.3 * academic + 0.8 * Normal()), 3 + _random.Next(12))).ToArray();

        var p = Sigmoid(-3.3 + 1.0 * attendance + 0.8 * behaviour - 0.9 * academic - 0.6 * slope - 0.4 * engagement);
        var previous = PriorYearOf(lastYear, attendance, behaviour, academic);
        return new SimulatedK12Student(id, new StudentSignals(days, marks, incidents, mastery, lms, previous?.Attendance, previous), p, _random.NextDouble() < p);
    }

    /// <summary>
    /// The student's previous year from the same traits, drawn like this one (without this year's slide in attendance and
    /// marks): daily attendance, incidents on days present, a mark per course each quarter. Null for a student new to the district.
    /// </summary>
    private PriorYearRecord? PriorYearOf(IReadOnlyList<DateOnly> lastYear, double attendance, double behaviour, double academic)
    {
        if (_prior.NextDouble() < NewStudents)
        {
            return null;
        }
        var incidents = new List<IncidentSignal>();
        var marks = new List<MarkSignal>();
        var courseOffsets = Courses.Select(_ => 6 * Normal(_prior)).ToArray();
        var quarter = lastYear.Count / 4;
        var absences = 0;
        for (var d = 0; d < lastYear.Count; d++)
        {
            var date = lastYear[d];
            var absent = _prior.NextDouble() < Sigmoid(-3.0 + 0.9 * attendance + (date.DayOfWeek is DayOfWeek.Monday or DayOfWeek.Friday ? 0.3 : 0));
            absences += absent ? 1 : 0;
            if (!absent && _prior.NextDouble() < Sigmoid(-4.6 + 1.0 * behaviour))
            {
                var serious = _prior.NextDouble() < 0.2;
                incidents.Add(new IncidentSignal(date, serious && _prior.NextDouble() < 0.5 ? "out-of-school-suspension" : "disruption", serious ? "major" : "minor"));
            }
            if ((d + 1) % quarter == 0)
            {
                marks.AddRange(Courses.Select((c, i) => new MarkSignal(c, $"Q{(d + 1) / quarter}",
                    Math.Round(Math.Clamp(76 + 9 * academic + courseOffsets[i] - 40 * absences / (d + 1.0) + 5 * Normal(_prior), 0, 100), 1), date)));
            }
        }
        return new PriorYearRecord(new History.PriorYearAttendance(lastYear.Count, absences), incidents, marks);
    }

    /// <summary>The simulated term (a half year, as the attendance simulator's) and the first school day a cold-start example is cut at.</summary>
    public const int TermDays = 90;

    public const int FirstScoringDay = 10;

    /// <summary>
    /// A labelled training set and a held-out set (a different seed, so different students), each student's features as of one
    /// uniformly random school day from <see cref="FirstScoringDay"/> to the end of the <see cref="TermDays"/>-day term (only
    /// signals dated by then), labelled with the year's outcome: the served model scores every day of the year, so it learns
    /// at every point it is served at (see <see cref="AttendanceSimulator.Examples"/> for why one point per student).
    /// </summary>
    /// <param name="priorYear">Also read the previous year (<see cref="K12PriorYear"/>), as models trained with it do.</param>
    public static RiskDataset Dataset(int trainStudents, int testStudents, int seed, bool priorYear = false)
    {
        var firstDay = new DateOnly(2025, 9, 1);
        List<LabelledExample> Examples(int count, int s, string prefix)
        {
            var students = new K12DropoutSimulator(s).Generate(count, firstDay, TermDays, prefix);
            // Cut-offs from their own stream, so the students are the ones the seed always drew.
            var cuts = new Random(s ^ 0x5EED);
            return students.Select(st =>
            {
                var cutoff = cuts.Next(FirstScoringDay, TermDays + 1);
                var features = K12DropoutFeatures.Compute(st.Signals, st.Signals.Days[cutoff - 1].Date);
                return new LabelledExample(st.StudentId, priorYear ? K12PriorYear.Append(features, st.Signals.Previous) : features, st.DroppedOut, cutoff);
            }).ToList();
        }
        var points = Monitoring.DriftReference.Range(FirstScoringDay, TermDays);
        return new RiskDataset(priorYear ? K12PriorYear.Set : K12DropoutFeatures.Set, Examples(trainStudents, seed, "sim"), Examples(testStudents, seed + 1_000_003, "hold"),
            K12DropoutFeatures.Indicators[0],
            $"SYNTHETIC K-12 students (K12DropoutSimulator, seed {seed}; {TruthModel}); features as of {points}{(priorYear ? ", with the previous school year (unknown for one in five)" : "")}",
            $"train {trainStudents} simulated students, test {testStudents} others from seed {seed + 1_000_003}; each student's features as of one random school day {FirstScoringDay}–{TermDays}");
    }

    private double Normal() => Normal(_random);

    private static double Normal(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    private string Pick(string[] items) => items[_random.Next(items.Length)];
}
