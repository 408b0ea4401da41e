extern alias Mastery;
extern alias Simulator;

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.Interventions.Domain;
using Beacon.Interventions.Storage;
using Beacon.ServiceDefaults;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Simulator::Beacon.Simulator;
using Xunit.Abstractions;
using AttendanceDay = Beacon.Interventions.Storage.AttendanceDay;
using MasteryProgram = Mastery::Program;

namespace Beacon.Interventions.Tests;

/// <summary>
/// Small tests of change end to end, on the real service with the real broker (risk bands arrive as Early warning
/// publishes them) and a real Mastery for the skill check: the stratified assignment is balanced in every stratum,
/// reproduced by its recorded seed and written to each case's history; the report recovers a planted difference between
/// two arms and says a tiny one is not detectable; every bad field is a 400 naming it. The service's clock is moved by
/// hand (a test's window has to end before its report measures).
/// </summary>
public sealed class ChangeTestTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly DateTimeOffset Monday = new(2026, 10, 5, 8, 0, 0, TimeSpan.Zero);
    private readonly ManualClock _clock = new(Monday);
    private readonly ServiceFactory<MasteryProgram> _mastery = new();
    private Host _service = null!;
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];

    private sealed class Host(ManualClock clock) : ServiceFactory<Program>
    {
        protected override void ConfigureTestServices(IServiceCollection services) => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock));
    }

    public async Task InitializeAsync()
    {
        // Mastery starts only when a test asks it something (the mastery outcome's skill check).
        _service = new Host(_clock) { BusScope = _mastery.BusScope, ClientHandlers = { ["MasteryClient"] = () => _mastery.Server.CreateHandler() } };
        await _service.WaitUntilReadyAsync();
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        await _mastery.DisposeAsync();
    }

    private HttpClient Coordinator(params string[] schools) => _service.CreateClientAs(TestTokens.For($"coord-{_run}", [Roles.Coordinator], schools));

    private static async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(HttpClient client, object body)
    {
        using var response = await client.PostAsJsonAsync("/api/interventions/v1/tests-of-change", body);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }

    /// <summary>Active cases for the students (and one completed case, which must not take part).</summary>
    private Task<List<InterventionCase>> CasesAsync(IEnumerable<(string Student, string School)> students) =>
        _service.WithDbAsync<InterventionsDbContext, List<InterventionCase>>(async db =>
        {
            var cases = students.Select(s => new InterventionCase
            {
                CaseId = Guid.NewGuid(),
                StudentId = s.Student,
                SchoolId = s.School,
                Reason = "alerted",
                Status = CaseStatuses.Open,
                OpenedAt = Monday.AddDays(-3),
            }).ToList();
            db.Cases.AddRange(cases);
            await db.SaveChangesAsync();
            return cases;
        });

    [Fact]
    public async Task Assignment_is_balanced_in_every_stratum_reproduced_by_its_seed_and_written_to_each_case()
    {
        var (north, south) = ($"ct-north-{_run}", $"ct-south-{_run}");
        var students = Enumerable.Range(0, 41).Select(i => (Student: $"ct-{_run}-s{i:00}", School: i % 3 == 0 ? south : north)).ToList();
        var cases = await CasesAsync(students.Take(40));
        await _service.WithDbAsync<InterventionsDbContext, int>(db =>
        {
            db.Cases.Add(new InterventionCase { CaseId = Guid.NewGuid(), StudentId = students[40].Student, SchoolId = north, Reason = "done", Status = CaseStatuses.Completed, OpenedAt = Monday.AddDays(-30) });
            return db.SaveChangesAsync();
        });
        // Bands as Early warning publishes them; s00 is high on one kind and low on another (the worst counts); s39 was never scored.
        string[] bands = ["high", "elevated", "low"];
        var scores = students.Take(39).Select((s, i) => new RiskScoreChanged(s.Student, s.School, "chronic-absence", 0.5, bands[i / 3 % 3], i / 3 % 3 == 0, Guid.NewGuid(), 1, [], Monday.AddHours(-2)))
            .Append(new RiskScoreChanged(students[0].Student, students[0].School, "dropout", 0.1, "low", false, Guid.NewGuid(), 1, [], Monday.AddHours(-1))).ToList();
        await _service.Services.GetRequiredService<IBus>().Publish(new RiskScoresChanged(scores));
        await Eventually.WaitAsync(() => _service.WithDbAsync<InterventionsDbContext, int>(db => db.RiskBands.CountAsync(b => b.StudentId.StartsWith($"ct-{_run}"))),
            n => n == 40, TimeSpan.FromSeconds(60));

        using var coordinator = Coordinator(north, south);
        object Body(int seed) => new
        {
            name = "Which first message gets students back",
            arms = new object[] { new { interventionType = "attendance-outreach" }, new { message = "We miss you at school." }, new { message = "Every day counts for your child." } },
            eligible = new { schoolIds = new[] { north, south } },
            outcome = "attendance",
            windowDays = 14,
            seed,
        };
        var (status, created) = await PostAsync(coordinator, Body(4242));
        Assert.True(status == HttpStatusCode.Created, created.ToString());
        output.WriteLine(created.ToString());
        Assert.Equal(4242, created.GetProperty("seed").GetInt32());
        Assert.Equal(["A", "B", "C"], created.GetProperty("arms").EnumerateArray().Select(a => a.GetProperty("label").GetString()));
        // 40 active cases; the completed one takes no part. Every stratum's arms differ by at most one, and so do the totals.
        var totals = created.GetProperty("arms").EnumerateArray().Select(a => a.GetProperty("students").GetInt32()).ToList();
        Assert.Equal(40, totals.Sum());
        Assert.True(totals.Max() - totals.Min() <= 1, string.Join(",", totals));
        var strata = created.GetProperty("strata").EnumerateArray().ToList();
        Assert.Equal(7, strata.Count);   // two schools × high, elevated, low, and north's unscored student
        foreach (var stratum in strata)
        {
            var perArm = stratum.GetProperty("studentsPerArm").EnumerateArray().Select(n => n.GetInt32()).ToList();
            Assert.True(perArm.Max() - perArm.Min() <= 1, stratum.ToString());
        }

        var testId = created.GetProperty("testId").GetGuid();
        var stored = await _service.WithDbAsync<InterventionsDbContext, List<ChangeTestAssignment>>(db => db.ChangeTestAssignments.Where(a => a.TestId == testId).ToListAsync());
        // The audit: each case's history has the assignment, by the coordinator, explained; staff read it on the case and may still act.
        var lines = await _service.WithDbAsync<InterventionsDbContext, List<CaseActivity>>(db =>
            db.Activity.Where(a => a.Kind == "test-assigned").ToListAsync());
        foreach (var c in cases)
        {
            var line = Assert.Single(lines, l => l.CaseId == c.CaseId);
            var arm = (char)('A' + stored.Single(s => s.CaseId == c.CaseId).ArmIndex);
            Assert.Equal($"coord-{_run}", line.By);
            Assert.Equal(Monday, line.At);
            Assert.StartsWith($"Assigned at random to arm {arm} (", line.Text);
            Assert.Contains("of the test of change \"Which first message gets students back\" so the district can learn which works; you may still act as you judge best", line.Text);
        }
        Assert.Equal("high", stored.Single(a => a.StudentId == students[0].Student).RiskBand);
        Assert.Equal("unscored", stored.Single(a => a.StudentId == students[39].Student).RiskBand);
        Assert.DoesNotContain(stored, a => a.StudentId == students[40].Student);
        // The recorded seed reproduces the assignment: the same algorithm on the same eligible students, and a second test through the API.
        var again = StratifiedAssignment.Assign(stored.Select(a => new EligibleStudent(a.StudentId, a.SchoolId, a.RiskBand, a.CaseId)).Reverse(), 3, 4242)
            .ToDictionary(a => a.Student.StudentId, a => a.Arm);
        Assert.All(stored, a => Assert.Equal(a.ArmIndex, again[a.StudentId]));
        var (_, twin) = await PostAsync(coordinator, Body(4242));
        var other = await PostAsync(coordinator, Body(4243));
        var armsOf = await _service.WithDbAsync<InterventionsDbContext, Dictionary<Guid, Dictionary<string, int>>>(async db =>
            (await db.ChangeTestAssignments.Where(a => a.StudentId.StartsWith($"ct-{_run}")).ToListAsync())
                .GroupBy(a => a.TestId).ToDictionary(g => g.Key, g => g.ToDictionary(a => a.StudentId, a => a.ArmIndex)));
        Assert.Equal(armsOf[testId], armsOf[twin.GetProperty("testId").GetGuid()]);
        Assert.NotEqual(armsOf[testId], armsOf[other.Body.GetProperty("testId").GetGuid()]);   // the seed matters

        using var counselor = _service.CreateClientAs(TestTokens.For($"couns-{_run}", [Roles.Counselor], [north]));
        var mine = cases.First(c => c.SchoolId == north);
        var tests = await counselor.GetFromJsonAsync<JsonElement>($"/api/interventions/v1/cases/{mine.CaseId}/tests-of-change");
        var part = tests.EnumerateArray().Single(t => t.GetProperty("testId").GetGuid() == testId);
        Assert.Equal(((char)('A' + stored.Single(s => s.CaseId == mine.CaseId).ArmIndex)).ToString(), part.GetProperty("arm").GetString());
        Assert.Contains("assigned at random to arm", part.GetProperty("explanation").GetString(), StringComparison.OrdinalIgnoreCase);
        var activity = await counselor.GetStringAsync($"/api/interventions/v1/cases/{mine.CaseId}/activity");
        Assert.Contains("test-assigned", activity);
        using var note = await counselor.PostAsJsonAsync($"/api/interventions/v1/cases/{mine.CaseId}/notes", new { text = "Called home anyway.", contact = true });
        Assert.Equal(HttpStatusCode.OK, note.StatusCode);
        // Another school's counselor sees nothing of it.
        using var outsider = _service.CreateClientAs(TestTokens.For($"couns2-{_run}", [Roles.Counselor], [south]));
        using var hidden = await outsider.GetAsync($"/api/interventions/v1/cases/{mine.CaseId}/tests-of-change");
        Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
    }

    /// <summary>
    /// A simulated set of cases whose attendance under arm B is raised by <paramref name="difference"/> (arm A's by none):
    /// the cases and their bands are stored, the test created through the API, then each student's days written under the
    /// arm the service drew. Returns the test's id and the world (its true difference).
    /// </summary>
    private async Task<(Guid TestId, ArmTestWorld World, Dictionary<string, int> ArmOf)> SimulatedTestAsync(string prefix, int students, double difference, int seed)
    {
        var world = new ArmTestWorld(seed, students, schools: 2, prefix: prefix, difference: difference);
        await CasesAsync(world.Eligible.Select(e => (e.StudentId, e.SchoolId)));
        await _service.WithDbAsync<InterventionsDbContext, int>(db =>
        {
            db.RiskBands.AddRange(world.Eligible.Select(e => new StudentRiskBand { StudentId = e.StudentId, Kind = "chronic-absence", Band = e.RiskBand, ScoredAt = Monday }));
            return db.SaveChangesAsync();
        });
        var schools = world.Eligible.Select(e => e.SchoolId).Distinct().ToArray();
        using var coordinator = Coordinator(schools);
        var (status, created) = await PostAsync(coordinator, new
        {
            name = $"Outreach wording {prefix}",
            arms = new object[] { new { message = "Please call the school." }, new { message = "We noticed your child missed school; how can we help?" } },
            eligible = new { schoolIds = schools },
            outcome = "attendance",
            windowDays = ArmTestWorld.WindowDays,
            startDate = "2026-10-05",
            seed,
        });
        Assert.True(status == HttpStatusCode.Created, created.ToString());
        var testId = created.GetProperty("testId").GetGuid();
        var armOf = await _service.WithDbAsync<InterventionsDbContext, Dictionary<string, int>>(db =>
            db.ChangeTestAssignments.Where(a => a.TestId == testId).ToDictionaryAsync(a => a.StudentId, a => a.ArmIndex));
        Assert.Equal(students, armOf.Count);
        await _service.WithDbAsync<InterventionsDbContext, int>(db =>
        {
            db.Attendance.AddRange(world.Attendance(armOf).Select(d => new AttendanceDay
            {
                StudentId = d.StudentId,
                SchoolId = d.SchoolId,
                Date = d.Date,
                Status = d.Attended ? "present" : "absent",
                Attended = d.Attended,
            }));
            return db.SaveChangesAsync();
        });
        return (testId, world, armOf);
    }

    [Fact]
    public async Task The_report_recovers_a_planted_difference_and_says_a_tiny_one_is_not_detectable_yet()
    {
        var planted = await SimulatedTestAsync($"ctp-{_run}", 300, ArmTestWorld.PlantedDifference, seed: 16);
        var tiny = await SimulatedTestAsync($"ctt-{_run}", 40, 0.005, seed: 13);
        var schools = new[] { planted, tiny }.SelectMany(t => t.World.Eligible.Select(e => e.SchoolId)).Distinct().ToArray();
        using var coordinator = Coordinator(schools);

        // The window has not ended: no figures yet (looking early would invite stopping at a lucky moment).
        var running = await coordinator.GetFromJsonAsync<JsonElement>($"/api/interventions/v1/tests-of-change/{planted.TestId}/report");
        Assert.Equal("running", running.GetProperty("status").GetString());
        Assert.False(running.TryGetProperty("differences", out _));

        _clock.Set(Monday.AddDays(ArmTestWorld.WindowDays));
        var report = await coordinator.GetFromJsonAsync<JsonElement>($"/api/interventions/v1/tests-of-change/{planted.TestId}/report");
        output.WriteLine(report.ToString());
        Assert.Equal("measured", report.GetProperty("status").GetString());
        var arms = report.GetProperty("arms").EnumerateArray().ToList();
        Assert.Equal(300, arms.Sum(a => a.GetProperty("students").GetInt32()));
        Assert.All(arms, a => Assert.Equal(2, a.GetProperty("ci95").GetArrayLength()));
        var b = report.GetProperty("differences").EnumerateArray().Single();
        var truth = planted.World.Planted();
        var ci = b.GetProperty("ci95");
        Assert.InRange(truth, ci[0].GetDouble(), ci[1].GetDouble());
        Assert.True(ci[0].GetDouble() > 0, b.ToString());
        Assert.True(b.GetProperty("detectable").GetBoolean());
        Assert.StartsWith("The change under arm B", b.GetProperty("sentence").GetString());
        Assert.InRange(b.GetProperty("minimumDetectable").GetDouble(), 0.02, truth);
        // The service's figures are the estimator's on the same days (nothing lost between the database and the statistics).
        var days = planted.World.Attendance(planted.ArmOf).Select(d => new AttendanceFact(d.StudentId, d.SchoolId, d.Date, d.Attended));
        var direct = ChangeTestEstimator.Compare([("A", "a"), ("B", "b")], [.. planted.ArmOf.Select(a => (a.Key, a.Value))],
            ChangeTestEstimator.AttendanceChanges(planted.ArmOf.Keys, days, ArmTestWorld.Start, ArmTestWorld.WindowDays), ChangeTestEstimator.PercentagePoints);
        Assert.Equal(Math.Round(direct.Differences[0].Difference, 4), b.GetProperty("difference").GetDouble());

        var small = await coordinator.GetFromJsonAsync<JsonElement>($"/api/interventions/v1/tests-of-change/{tiny.TestId}/report");
        output.WriteLine(small.ToString());
        var d = small.GetProperty("differences").EnumerateArray().Single();
        Assert.False(d.GetProperty("detectable").GetBoolean());
        Assert.StartsWith("No difference detectable yet between arm B", d.GetProperty("sentence").GetString());
        Assert.True(d.GetProperty("ci95")[0].GetDouble() <= 0 && d.GetProperty("ci95")[1].GetDouble() >= 0);
        // With 20 students an arm only a large difference could be found: far above the planted 0.005.
        Assert.True(d.GetProperty("minimumDetectable").GetDouble() > 0.05, d.ToString());
    }

    [Fact]
    public async Task Every_bad_field_is_a_400_naming_it_and_nothing_is_created()
    {
        var (school, empty, skill) = ($"ctb-{_run}", $"ctb-empty-{_run}", $"ctb-skill-{_run}");
        var cases = await CasesAsync([($"ctb-{_run}-s1", school), ($"ctb-{_run}-s2", school)]);
        var closed = await _service.WithDbAsync<InterventionsDbContext, Guid>(async db =>
        {
            var c = new InterventionCase { CaseId = Guid.NewGuid(), StudentId = $"ctb-{_run}-s3", SchoolId = school, Reason = "r", Status = CaseStatuses.Closed, OpenedAt = Monday.AddDays(-40) };
            db.Cases.Add(c);
            await db.SaveChangesAsync();
            return c.CaseId;
        });
        await _mastery.WaitUntilReadyAsync();
        using (var admin = _mastery.CreateClient())
        {
            using var put = await admin.PutAsJsonAsync("/api/mastery/v1/skills", new { skills = new[] { new { skillId = skill, name = "Fractions", prerequisites = Array.Empty<string>() } } });
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        }
        using var coordinator = Coordinator(school, empty);
        var arms = new object[] { new { interventionType = "attendance-outreach" }, new { interventionType = "family-meeting" } };
        object Valid(Action<Dictionary<string, object?>> change)
        {
            var body = new Dictionary<string, object?>
            {
                ["name"] = "t",
                ["arms"] = arms,
                ["eligible"] = new { schoolIds = new[] { school } },
                ["outcome"] = "attendance",
                ["windowDays"] = 14,
            };
            change(body);
            return body;
        }
        var cases400 = new (string Field, object Body)[]
        {
            ("arms", Valid(b => b["arms"] = new object[] { new { interventionType = "attendance-outreach" } })),
            ("arms[1].interventionType", Valid(b => b["arms"] = new object[] { new { interventionType = "attendance-outreach" }, new { interventionType = "magic" } })),
            ("arms[1]", Valid(b => b["arms"] = new object[] { new { interventionType = "tutoring" }, new { interventionType = "tutoring" } })),
            ("arms[0]", Valid(b => b["arms"] = new object[] { new { interventionType = "tutoring", message = "hi" }, new { message = "hello" } })),
            ("windowDays", Valid(b => b["windowDays"] = 0)),
            ("windowDays", Valid(b => b.Remove("windowDays"))),
            ("eligible", Valid(b => b["eligible"] = new { schoolIds = new[] { empty } })),
            ("eligible", Valid(b => b["eligible"] = new { schoolIds = Array.Empty<string>() })),
            ("eligible.schoolIds[0]", Valid(b => b["eligible"] = new { schoolIds = new[] { $"not-mine-{_run}" } })),
            ("eligible.caseIds[1]", Valid(b => b["eligible"] = new { caseIds = new[] { cases[0].CaseId.ToString(), Guid.NewGuid().ToString() } })),
            ("eligible.caseIds[0]", Valid(b => b["eligible"] = new { caseIds = new[] { closed.ToString() } })),
            ("eligible.caseIds[0]", Valid(b => b["eligible"] = new { caseIds = new[] { "nope" } })),
            ("outcome", Valid(b => b["outcome"] = "happiness")),
            ("name", Valid(b => b.Remove("name"))),
            ("startDate", Valid(b => b["startDate"] = "2026-10-04")),
            ("startDate", Valid(b => b["startDate"] = "05/10/2026")),
            ("seed", Valid(b => b["seed"] = -1)),
            ("skillId", Valid(b => b["outcome"] = "mastery")),
            ("skillId", Valid(b => b["skillId"] = skill)),
            ("arms[0].interventionType", Valid(b => { b["outcome"] = "mastery"; b["skillId"] = skill; })),
            ("arms[0].message", Valid(b => { b["outcome"] = "mastery"; b["skillId"] = skill; b["arms"] = new object[] { new { message = "m" }, new { interventionType = "small-group" } }; })),
            ("skillId", Valid(b => { b["outcome"] = "mastery"; b["skillId"] = "no-such-skill"; b["arms"] = new object[] { new { interventionType = "practice-set" }, new { interventionType = "small-group" } }; })),
        };
        foreach (var (field, body) in cases400)
        {
            var (status, problem) = await PostAsync(coordinator, body);
            Assert.True(status == HttpStatusCode.BadRequest, $"{field}: {(int)status} {problem}");
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"{field} not named: {problem}");
        }
        using var malformed = await coordinator.PostAsync("/api/interventions/v1/tests-of-change", new StringContent("{\"name\": ", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal(0, await _service.WithDbAsync<InterventionsDbContext, int>(db => db.ChangeTestAssignments.CountAsync(a => a.StudentId.StartsWith($"ctb-{_run}"))));

        // The same body made right is accepted, a mastery test of group intervention types too.
        Assert.Equal(HttpStatusCode.Created, (await PostAsync(coordinator, Valid(_ => { }))).Status);
        var (masteryStatus, masteryTest) = await PostAsync(coordinator, Valid(b =>
        {
            b["outcome"] = "mastery";
            b["skillId"] = skill;
            b["arms"] = new object[] { new { interventionType = "practice-set" }, new { interventionType = "small-group" } };
            b["startDate"] = "2026-10-12";
        }));
        Assert.True(masteryStatus == HttpStatusCode.Created, masteryTest.ToString());
        Assert.Equal("2026-10-26", masteryTest.GetProperty("measurableFrom").GetString());
    }

    [Fact]
    public async Task A_mastery_test_measures_each_arm_from_masterys_history_of_the_skill()
    {
        // Twelve students with cases; arm B's answer right in the window and arm A's wrong, so B's mastery rises and A's falls.
        var (school, skill) = ($"ctm-{_run}", $"ctm-skill-{_run}");
        var students = Enumerable.Range(0, 12).Select(i => $"ctm-{_run}-s{i:00}").ToList();
        await CasesAsync(students.Select(s => (s, school)));
        await _mastery.WaitUntilReadyAsync();
        using (var admin = _mastery.CreateClient())
        {
            using var put = await admin.PutAsJsonAsync("/api/mastery/v1/skills", new { skills = new[] { new { skillId = skill, name = "Ratios", prerequisites = Array.Empty<string>() } } });
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        }
        var bus = _service.Services.GetRequiredService<IBus>();
        foreach (var s in students)
        {
            await bus.Publish(new StudentEnrolled(s, school, "Sim", s, "6", DateTimeOffset.UtcNow));
        }
        using var coordinator = Coordinator(school);
        var (status, created) = await PostAsync(coordinator, new
        {
            name = "Practice set or small group",
            arms = new object[] { new { interventionType = "practice-set" }, new { interventionType = "small-group" } },
            eligible = new { schoolIds = new[] { school } },
            outcome = "mastery",
            skillId = skill,
            windowDays = 7,
            seed = 5,
        });
        Assert.True(status == HttpStatusCode.Created, created.ToString());
        var testId = created.GetProperty("testId").GetGuid();
        var armOf = await _service.WithDbAsync<InterventionsDbContext, Dictionary<string, int>>(db =>
            db.ChangeTestAssignments.Where(a => a.TestId == testId).ToDictionaryAsync(a => a.StudentId, a => a.ArmIndex));
        Assert.Equal([6, 6], armOf.Values.GroupBy(a => a).OrderBy(g => g.Key).Select(g => g.Count()));
        // Two answers the week before, wrong for everyone; four in the window: arm B's right (every other student misses the
        // last), arm A's wrong (every third student gets the last right), so each arm's students differ a little.
        var answers = students.SelectMany((s, n) => Enumerable.Range(0, 6).Select(i =>
        {
            var before = i < 2;
            var right = !before && (armOf[s] == 1 ? !(i == 5 && n % 2 == 0) : i == 5 && n % 3 == 0);
            return new ItemResponseRecorded(s, $"item-{i}", [skill], right, 1, 0, 30, Monday.AddDays(before ? -5 + i : i + 1));
        })).ToList();
        await bus.Publish(new ItemResponseBatchRecorded(answers));
        await Eventually.WaitAsync(() => _mastery.WithDbAsync<Mastery::Beacon.Mastery.Storage.MasteryDbContext, int>(db => db.AppliedResponses.CountAsync(r => r.StudentId.StartsWith($"ctm-{_run}"))),
            n => n == answers.Count, TimeSpan.FromSeconds(180));
        // Mastery answers by school, so every student's enrollment must have arrived too (its consumer may be retrying
        // a busy database while the answers are already in).
        await Eventually.WaitAsync(() => _mastery.WithDbAsync<Mastery::Beacon.Mastery.Storage.MasteryDbContext, int>(db => db.Students.CountAsync(s => s.SchoolId == school)),
            n => n == students.Count, TimeSpan.FromSeconds(60));

        _clock.Set(Monday.AddDays(7));
        var report = await coordinator.GetFromJsonAsync<JsonElement>($"/api/interventions/v1/tests-of-change/{testId}/report");
        output.WriteLine(report.ToString());
        Assert.Equal("measured", report.GetProperty("status").GetString());
        var arms = report.GetProperty("arms").EnumerateArray().ToList();
        Assert.All(arms, a => Assert.Equal((6, 0), (a.GetProperty("students").GetInt32(), a.GetProperty("excluded").GetInt32())));
        Assert.True(arms[1].GetProperty("meanChange").GetDouble() > arms[0].GetProperty("meanChange").GetDouble() + 0.3, report.ToString());
        var b = report.GetProperty("differences").EnumerateArray().Single();
        Assert.True(b.GetProperty("difference").GetDouble() > 0.3, b.ToString());
        Assert.True(b.GetProperty("detectable").GetBoolean(), b.ToString());
        Assert.StartsWith("The change under arm B (small-group) was larger than under arm A (practice-set) by 0.", b.GetProperty("sentence").GetString());
        Assert.Contains("in probability of mastery", b.GetProperty("sentence").GetString());
    }
}
