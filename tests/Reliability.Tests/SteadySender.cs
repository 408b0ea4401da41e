using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Beacon.Reliability.Tests;

/// <summary>
/// A seeded district: schools, counselors, students, day-by-day attendance with a per-student absence rate,
/// answers to practice items on a few skills with a per-student chance of answering right, course marks and
/// behaviour incidents.
/// </summary>
public sealed record TestDistrict(IReadOnlyList<string> Schools, IReadOnlyList<(string StaffId, string SchoolId, string Role)> Staff,
    IReadOnlyList<(string StudentId, string SchoolId)> Students, IReadOnlyList<AttendanceRow> Attendance, IReadOnlyList<AnswerRow> Answers)
{
    public IReadOnlyList<GradeRow> Grades { get; init; } = [];
    public IReadOnlyList<IncidentRow> Incidents { get; init; } = [];

    public static TestDistrict Generate(string prefix, int studentsPerSchool, int days, int seed)
    {
        var random = new Random(seed);
        string[] schools = [$"{prefix}-north", $"{prefix}-south"];
        var staff = schools.SelectMany(s => new[] { ($"{s}-c1", s, "counselor"), ($"{s}-c2", s, "counselor"), ($"{s}-coord", s, "coordinator") }).ToList();
        var students = schools.SelectMany(s => Enumerable.Range(1, studentsPerSchool).Select(i => ($"{s}-s{i:D3}", s))).ToList();
        // A third of the students miss school often enough to cross the 10 % line at some point.
        var absence = students.ToDictionary(s => s.Item1, _ => random.NextDouble() < 0.33 ? 0.08 + (random.NextDouble() * 0.2) : random.NextDouble() * 0.05);
        var rows = new List<AttendanceRow>();
        var day = new DateOnly(2025, 1, 6);
        for (var n = 0; n < days; day = day.AddDays(1))
        {
            if (day.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday)
            {
                continue;
            }
            n++;
            foreach (var (id, _) in students)
            {
                var roll = random.NextDouble();
                rows.Add(new AttendanceRow(id, day.ToString("yyyy-MM-dd"), roll < absence[id] ? "absent" : roll < absence[id] + 0.03 ? "tardy" : "present"));
            }
        }
        var ids = students.Select(s => s.Item1).ToList();
        // Marks and incidents from a stream of their own, so attendance and answers of a seed stay what they were.
        var other = new Random(seed + 1);
        return new TestDistrict(schools, staff, students, rows, PracticeAnswers(ids, random)) { Grades = Marks(ids, other), Incidents = BehaviourIncidents(ids, other) };
    }

    /// <summary>
    /// Four marking periods of three courses. A student either fails every course or passes every one, so the course
    /// indicator's flag is the same after any subset of the marks has arrived: batches in flight may land in any order
    /// under the faults, and the clean replay must reach the same crossings.
    /// </summary>
    private static List<GradeRow> Marks(List<string> students, Random random)
    {
        var failing = students.ToDictionary(s => s, _ => random.NextDouble() < 0.2);
        var rows = new List<GradeRow>();
        for (var term = 1; term <= 4; term++)
        {
            foreach (var student in students)
            {
                foreach (var course in new[] { "MATH", "ENG", "SCI" })
                {
                    var mark = failing[student] ? 30 + (random.NextDouble() * 20) : 75 + (random.NextDouble() * 25);
                    rows.Add(new GradeRow(student, course, $"P{term}", Math.Round(mark, 1), new DateOnly(2025, 1, 6).AddDays(7 * term).ToString("yyyy-MM-dd")));
                }
            }
        }
        return rows;
    }

    /// <summary>
    /// One in seven students has a suspension (and maybe a minor incident), the others up to two minor incidents, all
    /// within four weeks: the behaviour indicator (one serious incident, or three in a term) flags the same students
    /// whatever order the incidents arrive in.
    /// </summary>
    private static List<IncidentRow> BehaviourIncidents(List<string> students, Random random)
    {
        var rows = new List<IncidentRow>();
        foreach (var student in students)
        {
            var serious = random.NextDouble() < 1 / 7.0;
            var minor = serious ? random.Next(0, 2) : random.Next(0, 3);
            if (serious)
            {
                rows.Add(new IncidentRow($"{student}-i0", student, new DateOnly(2025, 1, 13).AddDays(random.Next(20)).ToString("yyyy-MM-dd"), "out-of-school-suspension", "major"));
            }
            for (var i = 1; i <= minor; i++)
            {
                rows.Add(new IncidentRow($"{student}-i{i}", student, new DateOnly(2025, 1, 13).AddDays(random.Next(20)).ToString("yyyy-MM-dd"), "disruption", "minor"));
            }
        }
        // Interleaved across students, as a SIS sends them through the day.
        return [.. rows.OrderBy(r => r.date, StringComparer.Ordinal).ThenBy(r => r.incidentId, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Rounds of practice: each round every student answers an item on one of four skills, an hour after the
    /// last round. One answer in twenty comes late (answered before answers already sent, as a retried upload
    /// would), so Mastery's replay in answer order is part of what the faults must not disturb.
    /// </summary>
    private static List<AnswerRow> PracticeAnswers(List<string> students, Random random)
    {
        var skill = students.ToDictionary(s => s, _ => 0.3 + (random.NextDouble() * 0.6));
        var answers = new List<AnswerRow>();
        var start = new DateTimeOffset(2025, 1, 6, 8, 0, 0, TimeSpan.Zero);
        for (var round = 0; round < 60; round++)
        {
            foreach (var student in students)
            {
                // Late: answered before the student's last answer on the same skill (four rounds back).
                var late = round > 4 && random.NextDouble() < 0.05;
                var at = start.AddHours(late ? round - 4.5 : round);
                answers.Add(new AnswerRow(student, $"item-{round}", [$"skill-{round % 4}"], random.NextDouble() < skill[student], 1, random.Next(0, 3),
                    Math.Round(10 + (random.NextDouble() * 50), 1), at));
            }
        }
        return answers;
    }

    public object Roster => new
    {
        schools = Schools.Select(s => new { schoolId = s, name = s }),
        staff = Staff.Select(s => new { staffId = s.StaffId, schoolId = s.SchoolId, role = s.Role, givenName = "G", familyName = s.StaffId, email = $"{s.StaffId}@example.edu" }),
        students = Students.Select(s => new { studentId = s.StudentId, schoolId = s.SchoolId, givenName = "S", familyName = s.StudentId, gradeLevel = "9" }),
    };
}

public sealed record AttendanceRow(string studentId, string date, string status);

public sealed record GradeRow(string studentId, string courseId, string term, double markPercent, string date);

public sealed record IncidentRow(string incidentId, string studentId, string date, string category, string severity);

public sealed record AnswerRow(string studentId, string itemId, string[] skillIds, bool correct, int attemptNumber, int hintsUsed,
    double timeOnTaskSeconds, DateTimeOffset answeredAt);

/// <summary>
/// A feed that streams signals (attendance, answers) to one of Ingestion's batch endpoints through the gateway at a
/// steady rate, as a district's SIS would: each
/// batch carries an Idempotency-Key, and a batch that fails (connection refused, 5xx, timeout) is sent
/// again with the same key until it is accepted. So every record is eventually accepted exactly once
/// (the key makes a re-send after a lost answer a no-op), and the test knows precisely what was accepted.
/// </summary>
public sealed class SteadySender<TRow>(HttpClient http, string kind, string listName, IReadOnlyList<TRow> rows, double ratePerSecond, int batchSize, int maxInFlight = 4)
{
    private long _attempts, _retries, _accepted, _rejected;
    private readonly ConcurrentDictionary<string, int> _failures = new();
    private readonly ConcurrentBag<(TimeSpan At, string What)> _events = [];

    public long Attempts => Interlocked.Read(ref _attempts);
    public long Retries => Interlocked.Read(ref _retries);
    public long Accepted => Interlocked.Read(ref _accepted);
    public long Rejected => Interlocked.Read(ref _rejected);
    public IReadOnlyDictionary<string, int> Failures => _failures;
    public int Batches => (rows.Count + batchSize - 1) / batchSize;
    public int Sent { get; private set; }

    /// <summary>Sends until the rows run out or <paramref name="stop"/> fires; batches already started are seen through.</summary>
    public async Task RunAsync(TimeSpan giveUpAfter, CancellationToken stop)
    {
        var clock = Stopwatch.StartNew();
        using var slots = new SemaphoreSlim(maxInFlight);
        var tasks = new List<Task>();
        for (var b = 0; b < Batches; b++)
        {
            var batch = Enumerable.Range(b * batchSize, Math.Min(batchSize, rows.Count - (b * batchSize))).Select(i => rows[i]).ToList();
            var key = $"reliability-{kind}-{b}";
            if (stop.IsCancellationRequested || !await Wait(slots.WaitAsync(stop)))
            {
                break;
            }
            tasks.Add(Task.Run(async () =>
            {
                try
                {
                    await SendUntilAcceptedAsync(key, batch, clock, giveUpAfter, CancellationToken.None);
                }
                finally
                {
                    slots.Release();
                }
            }, CancellationToken.None));
            Sent += batch.Count;
            var due = TimeSpan.FromSeconds(Sent / ratePerSecond);
            if (due > clock.Elapsed)
            {
                if (!await Wait(Task.Delay(due - clock.Elapsed, stop)))
                {
                    break;
                }
            }
        }
        await Task.WhenAll(tasks);
    }

    /// <summary>False when the wait was cut short by the stop token.</summary>
    private static async Task<bool> Wait(Task wait)
    {
        try
        {
            await wait;
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task SendUntilAcceptedAsync(string key, List<TRow> batch, Stopwatch clock, TimeSpan giveUpAfter, CancellationToken ct)
    {
        while (true)
        {
            Interlocked.Increment(ref _attempts);
            string failure;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/ingestion/v1/{kind}?source=reliability")
                {
                    Content = JsonContent.Create(new Dictionary<string, List<TRow>> { [listName] = batch }),
                };
                request.Headers.Add("Idempotency-Key", key);
                using var response = await http.SendAsync(request, ct);
                if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.BadRequest)
                {
                    var body = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
                    Interlocked.Add(ref _accepted, Count(body, "accepted") + Count(body, "unchanged") + Count(body, "corrected"));
                    Interlocked.Add(ref _rejected, Count(body, "rejected"));
                    return;
                }
                failure = $"HTTP {(int)response.StatusCode}";
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                failure = ex is TaskCanceledException ? "timeout" : "connection";
            }
            _failures.AddOrUpdate(failure, 1, (_, n) => n + 1);
            if (clock.Elapsed > giveUpAfter)
            {
                throw new TimeoutException($"Batch {key} still failing ({failure}) after {giveUpAfter}.");
            }
            Interlocked.Increment(ref _retries);
            await Task.Delay(300, ct);
        }
    }

    private static int Count(JsonElement body, string name) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : 0;
}
