namespace Beacon.Simulator;

/// <param name="ShiftFromDay">
/// A planted recording change for drift monitoring: from this school day (1-based) on, the school's
/// system records a late arrival as an absence (a real kind of mid-year policy change). Null: no change.
/// Behaviour and the ground truth are untouched; only what is recorded changes.
/// </param>
/// <param name="StudentPrefix">Student ids are "&lt;prefix&gt;-0001"...; two districts with different prefixes can share one platform.</param>
/// <param name="FirstSchool">Index of the first school name, so a second district gets other schools.</param>
/// <param name="MarkingPeriodDays">School days per marking period: each course gets a mark at the end of each one.</param>
/// <param name="PriorYearDays">
/// School days of a previous school year to generate per student (0: none), ending 52 weeks before <c>LastDay</c>: its
/// attendance, quarterly marks in last year's courses and behaviour incidents, drawn from the same traits as this year's
/// (see <see cref="DistrictGenerator.PriorYearOf"/>), as real early-warning systems read last year too.
/// </param>
public sealed record SimulationOptions(int Seed = 42, int Schools = 2, int StudentsPerSchool = 15, int SchoolDays = 20, DateOnly? LastDay = null,
    int ItemsPerDay = 3, int? ShiftFromDay = null, string StudentPrefix = "stu", int FirstSchool = 0, int MarkingPeriodDays = 15, int PriorYearDays = 0);

public sealed record SchoolInfo(string SchoolId, string Name);
public sealed record StaffInfo(string StaffId, string SchoolId, string Role, string GivenName, string FamilyName, string Email);
public sealed record StudentInfo(string StudentId, string SchoolId, string GivenName, string FamilyName, string Grade, string Sex, string RaceEthnicity,
    bool EconomicallyDisadvantaged, bool EnglishLearner, bool Disability, double AbsencePropensity, double Engagement);

/// <summary>
/// A student's traits that show in grades and behaviour rather than attendance (standardised): so some students'
/// risk shows first in their marks or their incidents, not in their absences.
/// </summary>
public sealed record StudentTraits(double Behaviour, double Academic, double AcademicSlope);
public sealed record SectionInfo(string SectionId, string SchoolId, string Title, string TeacherId);
public sealed record AttendanceDay(string StudentId, DateOnly Date, string Status);
public sealed record ItemAnswer(string StudentId, string ItemId, string SkillId, bool Correct, int Attempt, int Hints, double Seconds, DateTimeOffset At);
public sealed record Grade(string StudentId, string CourseId, string Term, double MarkPercent, DateOnly Date);
public sealed record Incident(string IncidentId, string StudentId, DateOnly Date, string Category, string Severity);

/// <summary>A session in the learning platform, sent as an xAPI statement (ADL verb completed or experienced).</summary>
public sealed record LmsSession(Guid StatementId, string StudentId, string ActivityId, string Verb, double Minutes, DateTimeOffset At);

/// <summary>The four BKT parameters a skill's answers were generated with.</summary>
public sealed record SkillTruth(string SkillId, string[] Prerequisites, double PriorKnowledge, double Learn, double Guess, double Slip);

/// <summary>End-of-term outcomes and the model that drew them (so a model test can check what it should recover).</summary>
public sealed record StudentOutcome(string StudentId, double AbsenceRate, bool ChronicallyAbsent, double DropoutProbability, bool DroppedOut,
    StudentTraits? Traits = null);

public sealed record GroundTruth(int Seed, IReadOnlyList<SkillTruth> Skills, string DropoutModel, IReadOnlyList<StudentOutcome> Outcomes,
    string? RecordingShift = null);

public sealed record District(IReadOnlyList<SchoolInfo> Schools, IReadOnlyList<StaffInfo> Staff, IReadOnlyList<StudentInfo> Students,
    IReadOnlyList<SectionInfo> Sections, IReadOnlyList<AttendanceDay> Attendance, IReadOnlyList<ItemAnswer> Answers, IReadOnlyList<Grade> Grades,
    IReadOnlyList<Incident> Incidents, GroundTruth Truth)
{
    public IReadOnlyList<LmsSession> Lms { get; init; } = [];

    /// <summary>The school years a district with a previous year sends as its calendar (so Early warning tells the two apart); else none.</summary>
    public IReadOnlyList<CalendarYear> Calendars { get; init; } = [];
}

/// <summary>A school year's first and last school day (weekdays between are school days), labelled "2025-2026".</summary>
public sealed record CalendarYear(string Label, DateOnly FirstDay, DateOnly LastDay)
{
    public static CalendarYear Of(IReadOnlyList<DateOnly> days) => new($"{days[^1].Year - 1}-{days[^1].Year}", days[0], days[^1]);
}

/// <summary>
/// Generates a district from a seed. Attendance: each student has a persistent absence propensity
/// (most low, a tail high), Mondays and Fridays are worse, and absence drifts up over the term for
/// disengaging students. Item responses follow a known BKT process per skill. Four courses are marked at the
/// end of each marking period from the student's academic standing (which can slide over the year) and their
/// absences so far; behaviour incidents, suspensions among them, come from a behaviour trait. Dropout is drawn
/// from a known logistic model of the traits (<see cref="DropoutModel"/>): the true probability is the best any
/// model of the signals can do. Work in the learning platform (LMS sessions) follows engagement, which otherwise
/// shows only faintly: engaged students log in on most school days, disengaging ones less and less. Grades and
/// behaviour draw from their own random stream and LMS sessions from a third, so attendance and answers are the
/// same for a seed as before they existed.
/// </summary>
public static class DistrictGenerator
{
    private static readonly string[] SchoolNames = ["north", "south", "east", "west", "central", "lake", "hill", "river"];
    private static readonly string[] Given = ["Ava", "Leo", "Mia", "Noah", "Zoe", "Eli", "Ivy", "Kai", "Ana", "Sam", "Maya", "Omar", "Lena", "Jin", "Rosa", "Theo"];
    private static readonly string[] Family = ["Garcia", "Nguyen", "Smith", "Okafor", "Kim", "Brown", "Lopez", "Patel", "Chen", "Wilson", "Ali", "Reed"];
    private static readonly string[] Races = ["white", "hispanic-or-latino", "black-or-african-american", "asian", "two-or-more", "american-indian-or-alaska-native"];

    public static readonly SkillTruth[] Skills =
    [
        new("fractions", [], 0.35, 0.20, 0.20, 0.10),
        new("equivalent-fractions", ["fractions"], 0.25, 0.15, 0.18, 0.08),
        new("comparing-fractions", ["equivalent-fractions"], 0.20, 0.12, 0.22, 0.12),
        new("decimals", ["fractions"], 0.30, 0.18, 0.15, 0.10),
    ];

    public const string DropoutModel =
        "logit(p) = -3.4 + 9.0*(absencePropensity - 0.05) + 0.9*behaviour - 0.8*academic - 0.6*academicSlope - 2.0*(engagement - 0.7) (traits standardised)";

    /// <summary>The true dropout probability of <see cref="DropoutModel"/> (also applied to estimated traits by the ceiling analysis).</summary>
    public static double DropoutProbability(double absencePropensity, double engagement, StudentTraits traits) =>
        Sigmoid(-3.4 + 9.0 * (absencePropensity - 0.05) + 0.9 * traits.Behaviour - 0.8 * traits.Academic - 0.6 * traits.AcademicSlope - 2.0 * (engagement - 0.7));

    private static readonly string[] Courses = ["MATH9", "ENG9", "SCI9", "HIST9"];

    public static District Generate(SimulationOptions o)
    {
        var rng = new Random(o.Seed);
        var lastDay = o.LastDay ?? DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);
        var days = SchoolDaysEndingOn(lastDay, o.SchoolDays);
        var schools = Enumerable.Range(o.FirstSchool, o.Schools).Select(i => SchoolNames[i % SchoolNames.Length] + (i >= SchoolNames.Length ? $"-{i}" : ""))
            .Select(id => new SchoolInfo(id, $"{char.ToUpperInvariant(id[0])}{id[1..]} High School")).ToList();

        var staff = new List<StaffInfo>();
        var sections = new List<SectionInfo>();
        foreach (var school in schools)
        {
            for (var c = 1; c <= 2; c++)
            {
                staff.Add(new StaffInfo($"c-{school.SchoolId}-{c}", school.SchoolId, "counselor", Pick(rng, Given), Pick(rng, Family), $"counselor{c}@{school.SchoolId}.example.edu"));
            }
            var teacher = new StaffInfo($"t-{school.SchoolId}-1", school.SchoolId, "teacher", Pick(rng, Given), Pick(rng, Family), $"math@{school.SchoolId}.example.edu");
            staff.Add(teacher);
            sections.Add(new SectionInfo($"sec-{school.SchoolId}-math", school.SchoolId, "Math 9", teacher.StaffId));
        }

        var students = new List<StudentInfo>();
        var n = 0;
        foreach (var school in schools)
        {
            for (var i = 0; i < o.StudentsPerSchool; i++)
            {
                n++;
                var disadvantaged = rng.NextDouble() < 0.4;
                // A skewed propensity: most students rarely miss school, about one in eight often does.
                var propensity = rng.NextDouble() < 0.12 ? 0.12 + rng.NextDouble() * 0.25 : rng.NextDouble() * 0.06;
                students.Add(new StudentInfo($"{o.StudentPrefix}-{n:0000}", school.SchoolId, Pick(rng, Given), Pick(rng, Family), (9 + rng.Next(4)).ToString(),
                    rng.NextDouble() < 0.5 ? "female" : "male", Pick(rng, Races), disadvantaged, rng.NextDouble() < 0.12, rng.NextDouble() < 0.1,
                    propensity, 0.4 + rng.NextDouble() * 0.6));
            }
        }

        var attendance = new List<AttendanceDay>();
        var answers = new List<ItemAnswer>();
        var incidents = new List<Incident>();
        var grades = new List<Grade>();
        var outcomes = new List<StudentOutcome>();
        var signals = new Random(unchecked(o.Seed * 31 + 7));
        var lmsRandom = new Random(unchecked(o.Seed * 53 + 11));
        var lms = new List<LmsSession>();
        // The previous year draws from a fourth stream, so this year's signals and outcomes are the same for a seed with or without it.
        var priorRandom = new Random(unchecked(o.Seed * 71 + 13));
        var priorDays = o.PriorYearDays > 0 ? PriorSchoolDays(lastDay, o.PriorYearDays) : [];
        foreach (var student in students)
        {
            var traits = new StudentTraits(Normal(signals) + (student.AbsencePropensity > 0.1 ? 0.4 : 0), Normal(signals) - 0.5 * (1 - student.Engagement), 0.9 * Normal(signals));
            if (priorDays.Count > 0)
            {
                PriorYearOf(priorRandom, student, traits, priorDays, attendance, grades, incidents);
            }
            var courseOffsets = Courses.Select(_ => 5 * Normal(signals)).ToArray();
            var drift = student.Engagement < 0.55 ? 0.004 : 0.0;   // disengaging students slide over the term
            var absences = 0;
            var known = Skills.ToDictionary(s => s.SkillId, s => rng.NextDouble() < s.PriorKnowledge);
            var attempts = new Dictionary<string, int>();
            for (var d = 0; d < days.Count; d++)
            {
                var day = days[d];
                var p = student.AbsencePropensity + drift * d + (day.DayOfWeek is DayOfWeek.Monday or DayOfWeek.Friday ? 0.02 : 0);
                var roll = rng.NextDouble();
                var status = roll < p ? (rng.NextDouble() < 0.25 ? "excused-absent" : "absent") : roll < p + 0.04 ? "tardy" : "present";
                // The planted shift changes the record only, after the RNG draws, so the rest of the district is identical.
                var recorded = o.ShiftFromDay is { } shift && d + 1 >= shift && status == "tardy" ? "absent" : status;
                attendance.Add(new AttendanceDay(student.StudentId, day, recorded));
                absences += status is "absent" or "excused-absent" ? 1 : 0;
                lms.AddRange(LmsDay(lmsRandom, student, day, drift > 0 ? (double)d / days.Count : 0));
                if ((d + 1) % o.MarkingPeriodDays == 0 || d == days.Count - 1)
                {
                    // A progress mark per course at each marking period's end (and on the last day).
                    var progress = (double)d / days.Count;
                    for (var c = 0; c < Courses.Length; c++)
                    {
                        var mark = 80 + 8 * (traits.Academic + traits.AcademicSlope * progress) + courseOffsets[c] - 60 * absences / (d + 1.0) + 4 * Normal(signals);
                        grades.Add(new Grade(student.StudentId, Courses[c], $"P{d / o.MarkingPeriodDays + 1}", Math.Round(Math.Clamp(mark, 0, 100), 1), day));
                    }
                }
                if (status is "absent" or "excused-absent")
                {
                    continue;
                }
                BehaviourIncident(signals, student, traits, day, $"b{d}", incidents);
                AbsenceIncident(rng, student, day, $"{d}", incidents);
                for (var k = 0; k < o.ItemsPerDay; k++)
                {
                    var skill = Skills[rng.Next(Skills.Length)];
                    var attempt = attempts[skill.SkillId] = attempts.GetValueOrDefault(skill.SkillId) + 1;
                    var correct = known[skill.SkillId] ? rng.NextDouble() >= skill.Slip : rng.NextDouble() < skill.Guess;
                    answers.Add(new ItemAnswer(student.StudentId, $"{skill.SkillId}-item-{rng.Next(1, 21):00}", skill.SkillId, correct, attempt,
                        correct ? 0 : rng.Next(0, 3), Math.Round(20 + rng.NextDouble() * 60, 1), day.ToDateTime(new TimeOnly(9 + k, rng.Next(60)), DateTimeKind.Utc)));
                    // Learning happens at each opportunity, as BKT assumes.
                    known[skill.SkillId] = known[skill.SkillId] || rng.NextDouble() < skill.Learn;
                }
            }
            var rate = (double)absences / days.Count;
            _ = rng.NextDouble();   // the draw the single term mark used to take: keeps the outcome draws of a seed where they were
            var pDrop = DropoutProbability(student.AbsencePropensity, student.Engagement, traits);
            outcomes.Add(new StudentOutcome(student.StudentId, Math.Round(rate, 4), rate >= 0.10, Math.Round(pDrop, 4), rng.NextDouble() < pDrop, traits));
        }

        return new District(schools, staff, students, sections, attendance, answers, grades, incidents,
            new GroundTruth(o.Seed, Skills, DropoutModel, outcomes,
                o.ShiftFromDay is { } from ? $"from school day {from} ({days[Math.Min(from, days.Count) - 1]:yyyy-MM-dd}) a late arrival is recorded as an absence" : null))
        {
            Lms = lms,
            Calendars = priorDays.Count > 0 ? [CalendarYear.Of(priorDays), CalendarYear.Of(days)] : [],
        };
    }

    private static readonly string[] PriorCourses = ["MATH8", "ENG8", "SCI8", "HIST8"];

    /// <summary>Last year's marking periods: quarters of the year's school days.</summary>
    private const int PriorYearQuarters = 4;

    /// <summary>
    /// A student's previous school year, from the same traits as this one and drawn like it: attendance from the absence
    /// propensity (Mondays and Fridays worse; the term's slide of disengaging students is this year's, so not repeated), a
    /// mark per course at each quarter's end from the academic standing (without this year's slope) and absences so far,
    /// behaviour incidents from the behaviour trait at this year's daily rate and category mix, and those that come
    /// with absence. Dated in the previous year; no LMS or item answers (Early warning keeps neither across years).
    /// </summary>
    private static void PriorYearOf(Random rng, StudentInfo student, StudentTraits traits, IReadOnlyList<DateOnly> days,
        List<AttendanceDay> attendance, List<Grade> grades, List<Incident> incidents)
    {
        var courseOffsets = PriorCourses.Select(_ => 5 * Normal(rng)).ToArray();
        var quarter = Math.Max(1, days.Count / PriorYearQuarters);
        var absences = 0;
        for (var d = 0; d < days.Count; d++)
        {
            var day = days[d];
            var p = student.AbsencePropensity + (day.DayOfWeek is DayOfWeek.Monday or DayOfWeek.Friday ? 0.02 : 0);
            var roll = rng.NextDouble();
            var status = roll < p ? (rng.NextDouble() < 0.25 ? "excused-absent" : "absent") : roll < p + 0.04 ? "tardy" : "present";
            attendance.Add(new AttendanceDay(student.StudentId, day, status));
            var absent = status is "absent" or "excused-absent";
            absences += absent ? 1 : 0;
            if ((d + 1) % quarter == 0 || d == days.Count - 1)
            {
                for (var c = 0; c < PriorCourses.Length; c++)
                {
                    var mark = 80 + 8 * traits.Academic + courseOffsets[c] - 60 * absences / (d + 1.0) + 4 * Normal(rng);
                    grades.Add(new Grade(student.StudentId, PriorCourses[c], $"PY-Q{Math.Min(PriorYearQuarters, d / quarter + 1)}", Math.Round(Math.Clamp(mark, 0, 100), 1), day));
                }
            }
            if (absent)
            {
                continue;
            }
            BehaviourIncident(rng, student, traits, day, $"py-b{d}", incidents);
            AbsenceIncident(rng, student, day, $"py-{d}", incidents);
        }
    }

    /// <summary>A present day's incident from the behaviour trait (a quarter of them serious, most of those suspensions), or none.</summary>
    private static void BehaviourIncident(Random rng, StudentInfo student, StudentTraits traits, DateOnly day, string tag, List<Incident> incidents)
    {
        if (rng.NextDouble() < Sigmoid(-4.8 + 1.1 * traits.Behaviour))
        {
            var serious = rng.NextDouble() < 0.25;
            incidents.Add(new Incident($"inc-{student.StudentId}-{tag}", student.StudentId, day,
                serious && rng.NextDouble() < 0.6 ? Pick(rng, ["in-school-suspension", "out-of-school-suspension"]) : Pick(rng, ["disruption", "defiance", "fighting", "bullying"]),
                serious ? "major" : rng.NextDouble() < 0.7 ? "minor" : "moderate"));
        }
    }

    /// <summary>A present day's minor incident that comes with absence (truancy among them), likelier the more often the student is absent.</summary>
    private static void AbsenceIncident(Random rng, StudentInfo student, DateOnly day, string tag, List<Incident> incidents)
    {
        if (rng.NextDouble() < 0.01 + student.AbsencePropensity * 0.1)
        {
            incidents.Add(new Incident($"inc-{student.StudentId}-{tag}", student.StudentId, day, Pick(rng, ["disruption", "defiance", "fighting", "truancy"]),
                rng.NextDouble() < 0.7 ? "minor" : "moderate"));
        }
    }

    private static readonly string[] LmsActivities = ["reading", "video", "practice-set", "discussion", "assignment"];

    /// <summary>
    /// A school day's LMS sessions: engagement sets how likely a student logs in at all (about one day in six at
    /// the lowest, four in five at the highest), and a disengaging student's chance falls over the term
    /// (<paramref name="slide"/>, 0 to 1). Sessions are timestamped in the afternoon or evening.
    /// </summary>
    private static IEnumerable<LmsSession> LmsDay(Random rng, StudentInfo student, DateOnly day, double slide)
    {
        var chance = Math.Clamp(0.15 + 1.1 * (student.Engagement - 0.4) - 0.5 * slide, 0.03, 0.9);
        if (rng.NextDouble() >= chance)
        {
            yield break;
        }
        var sessions = 1 + (rng.NextDouble() < student.Engagement - 0.3 ? 1 : 0);
        for (var i = 0; i < sessions; i++)
        {
            var activity = Pick(rng, LmsActivities);
            var at = day.ToDateTime(new TimeOnly(15 + rng.Next(7), rng.Next(60)), DateTimeKind.Utc);
            var id = new Guid(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes($"{student.StudentId}|{day:yyyy-MM-dd}|{i}")));
            yield return new LmsSession(id, student.StudentId, $"https://lms.example.edu/activities/{activity}-{rng.Next(1, 41):00}",
                activity is "reading" or "video" ? "experienced" : "completed", Math.Round(5 + 40 * student.Engagement * rng.NextDouble(), 1), at);
        }
    }

    /// <summary>The previous school year's days: <paramref name="count"/> weekdays ending 52 weeks before <paramref name="lastDay"/>.</summary>
    public static List<DateOnly> PriorSchoolDays(DateOnly lastDay, int count) => SchoolDaysEndingOn(lastDay.AddDays(-364), count);

    public static List<DateOnly> SchoolDaysEndingOn(DateOnly lastDay, int count)
    {
        var days = new List<DateOnly>();
        for (var d = lastDay; days.Count < count; d = d.AddDays(-1))
        {
            if (d.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday))
            {
                days.Add(d);
            }
        }
        days.Reverse();
        return days;
    }

    private static T Pick<T>(Random rng, IReadOnlyList<T> items) => items[rng.Next(items.Count)];

    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
}
