namespace Beacon.Bench;

/// <summary>The signal kinds of the mixed load and where each goes in: path, body collection, batch size.</summary>
internal sealed record SignalKind(string Name, string Path, string? Collection)
{
    public static readonly SignalKind Attendance = new("attendance", "/api/ingestion/v1/attendance?source=bench", "records");
    public static readonly SignalKind Grade = new("grades", "/api/ingestion/v1/grades?source=bench", "grades");
    public static readonly SignalKind Incident = new("incidents", "/api/ingestion/v1/behavior-incidents?source=bench", "incidents");
    public static readonly SignalKind Answer = new("answers", "/api/ingestion/v1/item-responses?source=bench", "responses");

    /// <summary>xAPI statements: the body is the array itself (no collection), as a learning platform posts them.</summary>
    public static readonly SignalKind Lms = new("lms", "/api/ingestion/v1/xapi/statements", null);

    public static readonly SignalKind[] All = [Attendance, Grade, Incident, Answer, Lms];
}

/// <summary>One signal: its kind, its student, its row as the endpoint reads it.</summary>
internal sealed record Signal(SignalKind Kind, string StudentId, object Row);

/// <summary>
/// A planted crossing: the student's risk first shows in <see cref="Family"/> (the worklist reason: chronic-absence,
/// behavior, course-performance, dropout) with <see cref="Trigger"/>, a known signal; its latency runs from the moment
/// the batch holding that signal is sent.
/// </summary>
internal sealed record Planted(string StudentId, string Family, Signal Trigger);

/// <summary>
/// A district's school days as a stream of mixed signals, in proportions a district sends them (per student and school
/// day, <see cref="PerStudentDay"/> in all): one attendance record; three item answers on a day present (an adaptive practice
/// tool's few items a day; the simulator's default); a mark per course a week (four courses: 0.8 a day, a gradebook
/// synced weekly); an LMS session on about 45 % of days and a second one on a third of those (0.6 a day, the
/// simulator's mean engagement); a behaviour incident on one student-day in 40 (the simulator's rate, about 4.5 a
/// student a year, most minor). A tenth of the students cross each planted line once, at a known signal:
/// attendance (absences just before the crossing day, as in the attendance-only mode); course performance, students
/// whose risk builds everywhere but under every line (marks of 70–76 %, a day absent in 12, two minor incidents, a
/// third of their answers right, never in the LMS), then all four courses failing in one week's marks (30 %, 38 %,
/// 45 %, 52 %): their course alert and their dropout-model alert are timed from the first failing mark;
/// behaviour (nothing, then an out-of-school suspension). Other students never cross an attendance or course line;
/// some reach three incidents (the behaviour line) and are untimed load, like every model alert not planted.
/// </summary>
internal sealed class MixedPlan
{
    public const double PerStudentDay = 1 + 3 * 0.97 + 0.8 + 0.6 + 1 / 40.0;
    public const int MinimumDays = 10;
    private const double Threshold = 0.10;
    private static readonly string[] Courses = ["MATH9", "ENG9", "SCI9", "HIST9"];

    public List<DateOnly> Days { get; }
    public List<Planted> Planted { get; } = [];

    private readonly (string Id, string School)[] students;
    private readonly string run;
    private readonly Dictionary<string, HashSet<int>> absences = [];
    private readonly Dictionary<string, int> courseTrigger = [];
    private readonly Dictionary<string, int> behaviourTrigger = [];

    public MixedPlan(string run, (string Id, string School)[] students, int dayCount, int firstTimedDay)
    {
        this.run = run;
        this.students = students;
        Days = BenchPlatform.SchoolDays(dayCount);
        var random = new Random(42);
        var first = Math.Min(Math.Max(MinimumDays, firstTimedDay), dayCount - 1);
        for (var i = 0; i < students.Length; i++)
        {
            var id = students[i].Id;
            var day = random.Next(first, dayCount);
            switch (GroupOf(i))
            {
                case Group.Attendance:
                    // Absences on the days just before and on day c, so the running rate first reaches the line there.
                    var a = (int)Math.Ceiling(Threshold * (day + 1));
                    absences[id] = [.. Enumerable.Range(day - a + 1, a)];
                    break;
                case Group.Course:
                    courseTrigger[id] = day;
                    // The last day of each 12: at most 8.3 % absent, under the 10 % line however many days have passed.
                    absences[id] = [.. Enumerable.Range(0, dayCount).Where(d => d % 12 == 11 && d != day)];
                    break;
                case Group.Behaviour:
                    behaviourTrigger[id] = day;
                    break;
            }
        }
    }

    private enum Group { None, Attendance, Course, Behaviour }

    private static Group GroupOf(int index) => (index % 10) switch
    {
        0 => Group.Attendance,
        3 => Group.Course,
        6 => Group.Behaviour,
        _ => Group.None,
    };

    /// <summary>The signals of school day <paramref name="d"/>, student after student.</summary>
    public List<Signal> DaySignals(int d)
    {
        var date = Days[d].ToString("yyyy-MM-dd");
        var rng = new Random(HashCode.Combine(d, 7));
        var signals = new List<Signal>();
        for (var i = 0; i < students.Length; i++)
        {
            var id = students[i].Id;
            var group = GroupOf(i);
            var absent = absences.TryGetValue(id, out var set) && set.Contains(d);
            var attendance = new Signal(SignalKind.Attendance, id, new { studentId = id, date, status = absent ? "absent" : "present" });
            signals.Add(attendance);
            if (group == Group.Attendance && absent && FirstCrossing(set!) == d)
            {
                Planted.Add(new Planted(id, "chronic-absence", attendance));
            }
            if (!absent)
            {
                for (var k = 0; k < 3; k++)
                {
                    var skill = $"bench-skill-{(i + k) % 12}";
                    signals.Add(new Signal(SignalKind.Answer, id, new
                    {
                        studentId = id,
                        // A new item each time (the day's practice set): Ingestion keys answers by (student, item, attempt).
                        itemId = $"{skill}-item-{d}-{k}",
                        skillIds = new[] { skill },
                        correct = rng.NextDouble() < (group == Group.Course ? 0.35 : 0.75),
                        attemptNumber = 1,
                        answeredAt = Days[d].ToDateTime(new TimeOnly(9 + k, rng.Next(60)), DateTimeKind.Utc),
                    }));
                }
            }
            signals.AddRange(Marks(id, i, d, date, rng));
            signals.AddRange(Incidents(id, group, d, date, rng));
            if (group != Group.Course)
            {
                signals.AddRange(LmsSessions(id, d, rng));
            }
        }
        return signals;
    }

    /// <summary>The day the planted absences first put the running rate on the line (after the minimum days).</summary>
    private static int FirstCrossing(HashSet<int> absent)
    {
        var count = 0;
        for (var day = 0; ; day++)
        {
            count += absent.Contains(day) ? 1 : 0;
            if (day + 1 >= MinimumDays && (double)count / (day + 1) >= Threshold)
            {
                return day;
            }
        }
    }

    private IEnumerable<Signal> Marks(string id, int index, int d, string date, Random rng)
    {
        var trigger = courseTrigger.GetValueOrDefault(id, -1);
        for (var c = 0; c < Courses.Length; c++)
        {
            double? mark = d == trigger ? new[] { 30.0, 38, 45, 52 }[c]
                : (d + c + index) % 5 != 0 ? null
                : trigger < 0 ? 72 + 24 * rng.NextDouble()
                : d < trigger ? 70 + 6 * rng.NextDouble()
                : c < 2 ? 45 + 10 * rng.NextDouble() : 70 + 10 * rng.NextDouble();
            if (mark is not { } m)
            {
                continue;
            }
            var signal = new Signal(SignalKind.Grade, id, new { studentId = id, courseId = Courses[c], term = "T1", markPercent = Math.Round(m, 1), date });
            if (d == trigger && c == 0)
            {
                // The first failing mark crosses the course line; the dropout model sees it in the same unit of work.
                Planted.Add(new Planted(id, "course-performance", signal));
                Planted.Add(new Planted(id, "dropout", signal));
            }
            yield return signal;
        }
    }

    private IEnumerable<Signal> Incidents(string id, Group group, int d, string date, Random rng)
    {
        if (group == Group.Behaviour && behaviourTrigger[id] == d)
        {
            var suspension = new Signal(SignalKind.Incident, id,
                new { incidentId = $"{run}-inc-{id}-{d}", studentId = id, date, category = "out-of-school-suspension", severity = "major" });
            Planted.Add(new Planted(id, "behavior", suspension));
            yield return suspension;
        }
        else if (group == Group.Course && d is 2 or 5)
        {
            yield return new Signal(SignalKind.Incident, id,
                new { incidentId = $"{run}-inc-{id}-{d}", studentId = id, date, category = "disruption", severity = "minor" });
        }
        else if (group == Group.None && rng.NextDouble() < 1 / 40.0)
        {
            yield return new Signal(SignalKind.Incident, id, new
            {
                incidentId = $"{run}-inc-{id}-{d}",
                studentId = id,
                date,
                category = rng.NextDouble() < 0.5 ? "disruption" : "defiance",
                severity = rng.NextDouble() < 0.7 ? "minor" : "moderate",
            });
        }
    }

    /// <summary>Sessions as xAPI 1.0.3 statements (the simulator's shape: an account on the LMS's home page, a duration).</summary>
    private IEnumerable<Signal> LmsSessions(string id, int d, Random rng)
    {
        var sessions = rng.NextDouble() >= 0.45 ? 0 : rng.NextDouble() < 1 / 3.0 ? 2 : 1;
        for (var s = 0; s < sessions; s++)
        {
            var verb = rng.NextDouble() < 0.5 ? "experienced" : "completed";
            yield return new Signal(SignalKind.Lms, id, new Dictionary<string, object>
            {
                ["id"] = Guid.NewGuid().ToString(),
                ["actor"] = new { objectType = "Agent", account = new { homePage = "https://lms.example.edu", name = id } },
                ["verb"] = new { id = $"http://adlnet.gov/expapi/verbs/{verb}", display = new Dictionary<string, string> { ["en-US"] = verb } },
                ["object"] = new { objectType = "Activity", id = $"https://lms.example.edu/activities/{run}-{rng.Next(40)}" },
                ["result"] = new { duration = $"PT{5 + rng.Next(40)}M" },
                ["timestamp"] = Days[d].ToDateTime(new TimeOnly(15 + rng.Next(6), rng.Next(60)), DateTimeKind.Utc).ToString("O"),
            });
        }
    }
}
