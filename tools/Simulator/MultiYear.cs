namespace Beacon.Simulator;

/// <param name="Seed">The district's seed (its own random streams; the single-year generator is not touched).</param>
/// <param name="FirstYear">The calendar year the first school year starts in (2022: school year "2022-2023").</param>
/// <param name="DaysPerYear">Null: each year's whole calendar (about 170 school days); else the year ends after this many school days (small test districts).</param>
public sealed record MultiYearOptions(int Seed = 19, int Years = 3, int Schools = 2, int StudentsPerSchool = 240, int FirstYear = 2022,
    string StudentPrefix = "myd", int FirstSchool = 0, int? DaysPerYear = null);

/// <summary>A span of non-instructional days (From to To inclusive).</summary>
public sealed record BreakDays(DateOnly From, DateOnly To, string Description);

/// <summary>A school year of the district's calendar and its school days (weekdays from first to last day, less the breaks).</summary>
public sealed record SchoolYearInfo(string Label, DateOnly FirstDay, DateOnly LastDay, IReadOnlyList<BreakDays> Breaks)
{
    public IReadOnlyList<DateOnly> SchoolDays { get; } = Days(FirstDay, LastDay, Breaks);

    private static List<DateOnly> Days(DateOnly first, DateOnly last, IReadOnlyList<BreakDays> breaks)
    {
        var days = new List<DateOnly>();
        for (var d = first; d <= last; d = d.AddDays(1))
        {
            if (d.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday) && !breaks.Any(b => d >= b.From && d <= b.To))
            {
                days.Add(d);
            }
        }
        return days;
    }
}

/// <summary>A student's leaving: the day (their last day of school, or a summer day) and why (Beacon.Contracts' exit codes).</summary>
public sealed record StudentExit(string StudentId, string SchoolId, DateOnly Date, string ExitCode);

/// <summary>
/// A student's school year as the data-generating process made it: the expected absence rate over their days (what the best
/// model of attendance could know), the realised rate over the days they were enrolled, the year's true dropout probability
/// and whether they dropped out; their exit, if any.
/// </summary>
public sealed record YearTruth(string StudentId, string SchoolYear, string Grade, double ExpectedAbsenceRate, double AbsenceRate, int DaysEnrolled,
    bool ChronicallyAbsent, double DropoutProbability, bool DroppedOut, StudentExit? Exit);

/// <summary>One school year of a multi-year district: who was enrolled at its start (grade of that year) and what happened.</summary>
public sealed record SimulatedYear(SchoolYearInfo Calendar, IReadOnlyList<StudentInfo> Students, IReadOnlyList<AttendanceDay> Attendance,
    IReadOnlyList<Grade> Grades, IReadOnlyList<Incident> Incidents, IReadOnlyList<StudentExit> Exits, IReadOnlyList<YearTruth> Truth);

public sealed record MultiYearDistrict(IReadOnlyList<SchoolInfo> Schools, IReadOnlyList<StaffInfo> Staff, IReadOnlyList<SectionInfo> Sections,
    IReadOnlyList<SimulatedYear> Years);

/// <summary>
/// A district over several school years, for learning from history (issue #19). Its data-generating process is deliberately
/// unlike the single-year generator's and the synthetic cold-start generators' defaults:
/// <list type="bullet">
/// <item>Calendars with breaks (Labor Day, Thanksgiving, winter break, Presidents' Day, spring break); every student has a
/// record on every school day they are enrolled.</item>
/// <item>Attendance (<see cref="AttendanceModel"/>): a persistent absence level carried across years with yearly noise; about
/// one student in seven "slides" after the winter break (few absences before it, unexcused and on Mondays and Fridays;
/// many after); about one in ten has an illness episode of excused absences early in the year and recovers. Lateness comes
/// from the school's bus routes, not from the student's risk (the synthetic generator ties tardies to risk).</item>
/// <item>Dropout (<see cref="DropoutModel"/>): behaviour and course standing weigh most, absence little, the upper grades more;
/// no learning platform at all (no LMS signal, where the single-year generator ties dropout to engagement seen there).
/// Dropouts leave after the scoring window, some in the summer.</item>
/// <item>Cohorts carry across years: grades advance, the 12th grade graduates at the year's end, a new 9th grade enters,
/// about 3 % a year transfer out.</item>
/// </list>
/// </summary>
public static class MultiYearGenerator
{
    public const string AttendanceModel =
        "P(absent on a day) = sigmoid(level + yearNoise + 1.7*slider*(after winter break) + 0.5*slider*(Monday or Friday) + 0.15*(Monday or Friday)); "
        + "level ~ N(-3.3, 0.55) (+1.2 for 15 %), yearNoise ~ N(0, 0.35), slider 14 %; illness episodes (10 %): 3-6 excused days in the first 30 school days; "
        + "tardies from the school's bus routes (8 % or 2 % of days), not from risk";

    public const string DropoutModel =
        "logit(p) = -4.1 + 1.5*behaviour - 1.2*academic + 0.35*absenceLevelZ + 0.6*(grade >= 11) + 0.7*slider (traits standardised; no engagement, no LMS)";

    private static readonly string[] SchoolNames = ["maple", "cedar", "birch", "aspen", "willow", "spruce"];
    private static readonly string[] Given = ["Ada", "Ben", "Cleo", "Dev", "Ema", "Finn", "Gia", "Hugo", "Isla", "Jude", "Kira", "Luca", "Nia", "Owen", "Pia", "Ravi"];
    private static readonly string[] Family = ["Alvarez", "Baker", "Cohen", "Diaz", "Evans", "Fofana", "Gupta", "Haddad", "Ito", "Jensen", "Kowalski", "Mensah"];
    private static readonly string[] Races = ["white", "hispanic-or-latino", "black-or-african-american", "asian", "two-or-more", "american-indian-or-alaska-native"];
    private static readonly string[] Courses = ["ALG", "ELA", "BIO", "CIV"];

    /// <summary>Progress marks per course every this many school days.</summary>
    public const int MarkingPeriodDays = 15;

    private sealed class Pupil(StudentInfo info, double level, bool slider, bool fragile, double behaviour, double academic)
    {
        public StudentInfo Info { get; set; } = info;
        public double Level { get; } = level;
        public bool Slider { get; } = slider;
        public bool Fragile { get; } = fragile;
        public double Behaviour { get; } = behaviour;
        public double Academic { get; } = academic;
        public double[] CourseOffsets { get; init; } = [];
    }

    public static MultiYearDistrict Generate(MultiYearOptions o)
    {
        var rng = new Random(unchecked(o.Seed * 7919 + 3));
        var schools = Enumerable.Range(o.FirstSchool, o.Schools).Select(i => SchoolNames[i % SchoolNames.Length] + (i >= SchoolNames.Length ? $"-{i}" : ""))
            .Select(id => new SchoolInfo(id, $"{char.ToUpperInvariant(id[0])}{id[1..]} High School")).ToList();
        var staff = new List<StaffInfo>();
        var sections = new List<SectionInfo>();
        foreach (var school in schools)
        {
            staff.Add(new StaffInfo($"c-{school.SchoolId}-1", school.SchoolId, "counselor", Pick(rng, Given), Pick(rng, Family), $"counselor1@{school.SchoolId}.example.edu"));
            var teacher = new StaffInfo($"t-{school.SchoolId}-1", school.SchoolId, "teacher", Pick(rng, Given), Pick(rng, Family), $"algebra@{school.SchoolId}.example.edu");
            staff.Add(teacher);
            sections.Add(new SectionInfo($"sec-{school.SchoolId}-alg", school.SchoolId, "Algebra", teacher.StaffId));
        }

        var pupils = new List<Pupil>();
        var next = 0;
        Pupil NewPupil(string schoolId, int grade)
        {
            next++;
            var level = Normal(rng, -3.3, 0.55) + (rng.NextDouble() < 0.15 ? 1.2 : 0);
            var info = new StudentInfo($"{o.StudentPrefix}-{next:00000}", schoolId, Pick(rng, Given), Pick(rng, Family), grade.ToString(),
                rng.NextDouble() < 0.5 ? "female" : "male", Pick(rng, Races), rng.NextDouble() < 0.45, rng.NextDouble() < 0.1, rng.NextDouble() < 0.12,
                Math.Round(Sigmoid(level), 4), 0.5);
            return new Pupil(info, level, rng.NextDouble() < 0.14, rng.NextDouble() < 0.10, Normal(rng, 0, 1), Normal(rng, 0, 1))
            {
                CourseOffsets = [.. Courses.Select(_ => Normal(rng, 0, 4))],
            };
        }
        foreach (var school in schools)
        {
            for (var i = 0; i < o.StudentsPerSchool; i++)
            {
                pupils.Add(NewPupil(school.SchoolId, 9 + i * 4 / o.StudentsPerSchool));
            }
        }

        var years = new List<SimulatedYear>();
        for (var y = 0; y < o.Years; y++)
        {
            var calendar = Calendar(o.FirstYear + y, o.DaysPerYear);
            if (y > 0)
            {
                // The next year: everyone still here moves up a grade and a new 9th grade enters each school.
                foreach (var p in pupils)
                {
                    p.Info = p.Info with { Grade = (int.Parse(p.Info.Grade, System.Globalization.CultureInfo.InvariantCulture) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) };
                }
                foreach (var school in schools)
                {
                    for (var i = 0; i < o.StudentsPerSchool / 4; i++)
                    {
                        pupils.Add(NewPupil(school.SchoolId, 9));
                    }
                }
            }
            var year = Year(rng, calendar, pupils, schools);
            years.Add(year);
            var left = year.Exits.Select(e => e.StudentId).ToHashSet();
            pupils.RemoveAll(p => left.Contains(p.Info.StudentId));
        }
        return new MultiYearDistrict(schools, staff, sections, years);
    }

    private static SimulatedYear Year(Random rng, SchoolYearInfo calendar, List<Pupil> pupils, List<SchoolInfo> schools)
    {
        var days = calendar.SchoolDays;
        var winter = calendar.Breaks.FirstOrDefault(b => b.Description == "winter break")?.To ?? days[days.Count / 2];
        var bus = schools.Select((s, i) => (s.SchoolId, Rate: i % 2 == 0 ? 0.08 : 0.02)).ToDictionary(s => s.SchoolId, s => s.Rate);
        var attendance = new List<AttendanceDay>();
        var grades = new List<Grade>();
        var incidents = new List<Incident>();
        var exits = new List<StudentExit>();
        var truth = new List<YearTruth>();
        foreach (var p in pupils)
        {
            var s = p.Info;
            var grade = int.Parse(s.Grade, System.Globalization.CultureInfo.InvariantCulture);
            var yearLevel = p.Level + Normal(rng, 0, 0.35);
            var levelZ = (p.Level + 3.3 + 0.18) / 0.7;
            var pDrop = Sigmoid(-4.1 + 1.5 * p.Behaviour - 1.2 * p.Academic + 0.35 * levelZ + (grade >= 11 ? 0.6 : 0) + (p.Slider ? 0.7 : 0));
            var dropped = rng.NextDouble() < pDrop;
            var transfers = !dropped && rng.NextDouble() < 0.03;
            // Dropouts leave after the first 30 school days (a fifth of them in the summer after); transfers any time.
            int? lastIndex = dropped ? (rng.NextDouble() < 0.2 ? null : 30 + rng.Next(Math.Max(1, days.Count - 30)))
                : transfers ? rng.Next(days.Count) : null;
            var exitDate = lastIndex is { } li ? days[Math.Min(li, days.Count - 1)] : dropped ? calendar.LastDay.AddDays(40) : (DateOnly?)null;
            var exit = dropped ? new StudentExit(s.StudentId, s.SchoolId, exitDate!.Value, "dropped-out")
                : transfers ? new StudentExit(s.StudentId, s.SchoolId, exitDate!.Value, "transferred")
                : grade >= 12 ? new StudentExit(s.StudentId, s.SchoolId, calendar.LastDay, "graduated") : null;
            var illness = p.Fragile ? (Start: rng.Next(Math.Max(1, Math.Min(30, days.Count) - 6)), Length: 3 + rng.Next(4)) : (Start: -1, Length: 0);
            int absences = 0, enrolled = 0;
            var expected = 0.0;
            for (var d = 0; d < days.Count && (exit is null || days[d] <= exit.Date); d++)
            {
                var day = days[d];
                var edge = day.DayOfWeek is DayOfWeek.Monday or DayOfWeek.Friday;
                var pAbsent = Sigmoid(yearLevel + (p.Slider && day > winter ? 1.7 : 0) + (edge ? 0.15 + (p.Slider ? 0.5 : 0) : 0));
                var ill = d >= illness.Start && d < illness.Start + illness.Length;
                expected += ill ? 1 : pAbsent;
                var status = ill ? "excused-absent"
                    : rng.NextDouble() < pAbsent ? (rng.NextDouble() < 0.25 ? "excused-absent" : "absent")
                    : rng.NextDouble() < bus[s.SchoolId] ? "tardy" : "present";
                attendance.Add(new AttendanceDay(s.StudentId, day, status));
                enrolled++;
                absences += status is "absent" or "excused-absent" ? 1 : 0;
                if ((d + 1) % MarkingPeriodDays == 0)
                {
                    for (var c = 0; c < Courses.Length; c++)
                    {
                        var mark = 77 + 9 * p.Academic + p.CourseOffsets[c] - 35.0 * absences / enrolled + Normal(rng, 0, 5);
                        grades.Add(new Grade(s.StudentId, Courses[c], $"{calendar.Label}-P{(d + 1) / MarkingPeriodDays}", Math.Round(Math.Clamp(mark, 0, 100), 1), day));
                    }
                }
                if (status is not ("absent" or "excused-absent") && rng.NextDouble() < Sigmoid(-5.0 + 1.3 * p.Behaviour))
                {
                    var serious = rng.NextDouble() < 0.3;
                    incidents.Add(new Incident($"inc-{s.StudentId}-{day:yyyyMMdd}", s.StudentId, day,
                        serious ? Pick(rng, ["in-school-suspension", "out-of-school-suspension", "fighting"]) : Pick(rng, ["disruption", "defiance", "bullying"]),
                        serious ? "major" : rng.NextDouble() < 0.7 ? "minor" : "moderate"));
                }
            }
            if (exit is not null)
            {
                exits.Add(exit);
            }
            var rate = enrolled == 0 ? 0 : (double)absences / enrolled;
            truth.Add(new YearTruth(s.StudentId, calendar.Label, s.Grade, Math.Round(enrolled == 0 ? 0 : expected / enrolled, 4), Math.Round(rate, 4), enrolled,
                rate >= 0.10, Math.Round(pDrop, 4), dropped, exit));
        }
        return new SimulatedYear(calendar, [.. pupils.Select(p => p.Info)], attendance, grades, incidents, exits, truth);
    }

    /// <summary>
    /// A US school year: from the last Monday of August (the 26th or before) to the first Friday of June, less Labor Day,
    /// Thanksgiving Wednesday to Friday, the winter break, Presidents' Day and a spring-break week; cut after
    /// <paramref name="daysPerYear"/> school days if given.
    /// </summary>
    public static SchoolYearInfo Calendar(int startYear, int? daysPerYear = null)
    {
        var first = new DateOnly(startYear, 8, 26);
        while (first.DayOfWeek != DayOfWeek.Monday)
        {
            first = first.AddDays(-1);
        }
        var last = new DateOnly(startYear + 1, 6, 1);
        while (last.DayOfWeek != DayOfWeek.Friday)
        {
            last = last.AddDays(1);
        }
        var laborDay = Nth(startYear, 9, DayOfWeek.Monday, 1);
        var thanksgiving = Nth(startYear, 11, DayOfWeek.Thursday, 4);
        var spring = Nth(startYear + 1, 3, DayOfWeek.Monday, 3);
        var breaks = new List<BreakDays>
        {
            new(laborDay, laborDay, "Labor Day"),
            new(thanksgiving.AddDays(-1), thanksgiving.AddDays(1), "Thanksgiving"),
            new(new DateOnly(startYear, 12, 22), new DateOnly(startYear + 1, 1, 2), "winter break"),
            new(Nth(startYear + 1, 2, DayOfWeek.Monday, 3), Nth(startYear + 1, 2, DayOfWeek.Monday, 3), "Presidents' Day"),
            new(spring, spring.AddDays(4), "spring break"),
        };
        var label = $"{startYear}-{startYear + 1}";
        var full = new SchoolYearInfo(label, first, last, breaks);
        if (daysPerYear is not { } n || n >= full.SchoolDays.Count)
        {
            return full;
        }
        var cut = full.SchoolDays[Math.Max(n, 1) - 1];
        return new SchoolYearInfo(label, first, cut, [.. breaks.Where(b => b.From <= cut)]);
    }

    private static DateOnly Nth(int year, int month, DayOfWeek day, int n)
    {
        var d = new DateOnly(year, month, 1);
        while (d.DayOfWeek != day)
        {
            d = d.AddDays(1);
        }
        return d.AddDays(7 * (n - 1));
    }

    private static T Pick<T>(Random rng, IReadOnlyList<T> items) => items[rng.Next(items.Count)];

    private static double Normal(Random rng, double mean, double sd) => mean + sd * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
}
