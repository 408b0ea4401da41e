using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Testing;
using Xunit.Abstractions;

namespace Beacon.Reliability.Tests;

/// <summary>
/// Faults while two feeds stream attendance and item answers at a steady rate through the gateway: every process is killed
/// with SIGKILL in turn and restarted, the broker is stopped and started, two databases are locked for a
/// few seconds. Afterwards: every accepted record is stored once, every projection (attendance, risk, mastery) holds exactly what
/// Ingestion holds, every alert has one case and one feed entry and delivery per counselor, and the
/// projections equal the ones a clean replay builds into fresh databases. On SQLite files (<see cref="FaultTests"/>) and on
/// PostgreSQL (<see cref="PostgresFaultTests"/>).
/// </summary>
public abstract class FaultTestsBase(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Start = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(300);

    // How long a feed keeps re-sending a refused batch: the faults' whole sequence, with restarts that take over a
    // minute on a loaded 2-core machine, fits in it. A bound on retrying, not a timing goal.
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromMinutes(6);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly string _root = TestEnvironment.NewTempDirectory("reliability");
    private PrivateRabbitMq _broker = null!;
    private Platform _platform = null!;
    private ServiceStores? _stores;
    private bool _passed;

    /// <summary>Where the services keep their data; null skips the test (no server to run it on).</summary>
    protected abstract ServiceStores? CreateStores(string dataDirectory);

    public async Task InitializeAsync()
    {
        var data = Path.Combine(_root, "platform");
        _stores = CreateStores(data);
        if (_stores is null)
        {
            return;
        }
        _broker = await PrivateRabbitMq.StartAsync(Path.Combine(_root, "rabbitmq"));
        Log($"private RabbitMQ node {_broker.NodeName} on 127.0.0.1:{_broker.Port}");
        _platform = await Platform.StartAsync(_broker.Uri, data, _stores, Start);
        Log($"six processes ready; gateway {_platform.Gateway}; Ingestion's store: {_stores.Describe("Ingestion")}");
    }

    public async Task DisposeAsync()
    {
        if (_stores is null)
        {
            return;
        }
        if (_platform is not null)
        {
            await _platform.DisposeAsync();
        }
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }
        if (_passed)
        {
            await _stores.DisposeAsync();
        }
        if (!_passed)
        {
            output.WriteLine($"logs and databases kept in {_root}");
            return;
        }
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Log(string line) => output.WriteLine($"[{_clock.Elapsed.TotalSeconds,6:F1} s] {line}");

    [SkippableFact]
    public async Task Kills_broker_restart_and_database_outages_lose_nothing_and_duplicate_nothing()
    {
        Skip.If(_stores is null, "BEACON_TEST_POSTGRES is not set: the PostgreSQL run of the fault test needs a server (./beacon test starts one).");
        try
        {
            await RunAsync();
        }
        catch
        {
            output.WriteLine(_platform.Logs(25));
            throw;
        }
    }

    private async Task RunAsync()
    {
        var district = TestDistrict.Generate("rel", studentsPerSchool: 30, days: 400, seed: 7);
        using var http = new HttpClient { BaseAddress = _platform.Gateway, Timeout = TimeSpan.FromSeconds(30) };
        await Authorize(http);
        using (var roster = await http.PostAsJsonAsync("/api/ingestion/v1/roster", district.Roster))
        {
            Assert.True(roster.IsSuccessStatusCode, $"roster -> {(int)roster.StatusCode}: {await roster.Content.ReadAsStringAsync()}");
        }

        // A promoted chronic-absence model, so every record is also scored and the risk scores (with their
        // hysteresis crossings and model alerts) are among the projections compared with the clean replay.
        using var trainer = new HttpClient { BaseAddress = _platform.Gateway, Timeout = TimeSpan.FromMinutes(3) };
        await Authorize(trainer);
        using (var train = await trainer.PostAsJsonAsync("/api/early-warning/v1/models/train", new { kind = "chronic-absence", students = 1500, seed = 3, promote = true }))
        {
            Assert.True(train.IsSuccessStatusCode, $"train -> {(int)train.StatusCode}: {await train.Content.ReadAsStringAsync()}");
        }

        // The feed sends until the faults are over, at 15 records/s (a school day of 60 students every 4 s):
        // enough to have batches in flight at every fault, small enough for a loaded 2-core CI machine to
        // drain and replay within the test's bounds.
        // Answers stream beside it at 10 a second, to Mastery; course marks at 5 and behaviour incidents at 1, to
        // Early warning's course and behaviour indicators.
        var sender = new SteadySender<AttendanceRow>(http, "attendance", "records", district.Attendance, ratePerSecond: 15, batchSize: 15);
        var answers = new SteadySender<AnswerRow>(http, "item-responses", "responses", district.Answers, ratePerSecond: 10, batchSize: 10);
        var marks = new SteadySender<GradeRow>(http, "grades", "grades", district.Grades, ratePerSecond: 5, batchSize: 5);
        var incidents = new SteadySender<IncidentRow>(http, "behavior-incidents", "incidents", district.Incidents, ratePerSecond: 1, batchSize: 1);
        using var stopSending = new CancellationTokenSource();
        var sending = Task.WhenAll(sender.RunAsync(GiveUpAfter, stopSending.Token), answers.RunAsync(GiveUpAfter, stopSending.Token),
            marks.RunAsync(GiveUpAfter, stopSending.Token), incidents.RunAsync(GiveUpAfter, stopSending.Token));
        await Task.Delay(2000);

        // Each process in turn: kill -9, start again at once, move on; start-up under load can take a while,
        // so the next kill does not wait for the last restart to be ready.
        foreach (var name in Platform.ServiceNames.Append("Gateway"))
        {
            var process = _platform[name];
            await process.KillAsync();
            Log($"kill -9 {name} (sent so far {sender.Sent})");
            await Task.Delay(300);
            process.Start();
            await Task.Delay(2000);
        }
        await Task.WhenAll(_platform.Processes.Values.Select(p => p.WaitReadyAsync(Start)));
        Log($"all six restarted and ready (sent so far {sender.Sent})");

        await _broker.StopNodeAsync();
        Log($"RabbitMQ stopped (sent so far {sender.Sent})");
        await Task.Delay(3000);
        await _broker.StartNodeAsync();
        Log("RabbitMQ started again");
        await Task.Delay(3000);

        foreach (var name in new[] { "Ingestion", "EarlyWarning", "Mastery" })
        {
            Log($"{name}'s database unavailable for 4 s (sent so far {sender.Sent})");
            await _platform.Stores.MakeUnavailableAsync(name, TimeSpan.FromSeconds(4));
            Log($"{name}'s database available again");
            await Task.Delay(1500);
        }

        // Graceful shutdown mid-stream: SIGTERM must drain and exit cleanly within the shutdown bound
        // (Beacon:ShutdownTimeout, 25 s), and what was in flight must not be lost (checked below, with the rest).
        foreach (var name in new[] { "Ingestion", "EarlyWarning" })
        {
            var (took, code) = await _platform[name].TerminateAsync(TimeSpan.FromSeconds(60));
            Log($"SIGTERM {name}: exited in {took.TotalSeconds:F1} s with code {code} (sent so far {sender.Sent})");
            Assert.Equal(0, code);
            Assert.True(took < TimeSpan.FromSeconds(30), $"{name} took {took} to stop");
            await _platform[name].RestartAsync(Start);
            Log($"{name} restarted and ready");
        }
        await Task.Delay(2000);
        await stopSending.CancelAsync();
        await IgnoreCancellation(sending);
        Log($"feed stopped: {sender.Sent} records sent, {sender.Attempts} requests, {sender.Retries} retried "
            + $"({string.Join(", ", sender.Failures.Select(f => $"{f.Key}: {f.Value}"))}); answered accepted/unchanged {sender.Accepted}, rejected {sender.Rejected}");
        Log($"answers stopped: {answers.Sent} sent, {answers.Attempts} requests, {answers.Retries} retried "
            + $"({string.Join(", ", answers.Failures.Select(f => $"{f.Key}: {f.Value}"))}); answered accepted/unchanged {answers.Accepted}, rejected {answers.Rejected}");

        Log($"marks stopped: {marks.Sent} sent, {marks.Retries} retried; incidents stopped: {incidents.Sent} sent, {incidents.Retries} retried");

        // Faults may refuse a request (502 from the gateway while a service is down, 503 while its database is), never fail it with a 500.
        Assert.DoesNotContain("HTTP 500", sender.Failures.Keys);
        Assert.DoesNotContain("HTTP 500", answers.Failures.Keys);
        Assert.DoesNotContain("HTTP 500", marks.Failures.Keys);
        Assert.DoesNotContain("HTTP 500", incidents.Failures.Keys);

        var faultRun = await SettleAsync(_platform);
        Log("settled after the faults:");
        Report(faultRun);
        var sent = district.Attendance.Take(sender.Sent).Select(r => $"{r.studentId}|{r.date}|{r.status}").ToHashSet();
        var answersSent = district.Answers.Take(answers.Sent).ToList();
        Assert.Equal(0, sender.Rejected);
        Assert.Equal(sender.Sent, sender.Accepted);
        Assert.Equal(0, answers.Rejected);
        Assert.Equal(answers.Sent, answers.Accepted);
        Assert.Equal((0, marks.Sent), (marks.Rejected, marks.Accepted));
        Assert.Equal((0, incidents.Sent), (incidents.Rejected, incidents.Accepted));
        var marksSent = district.Grades.Take(marks.Sent).Select(g => $"{g.studentId}|{g.courseId}|{g.term}|{g.markPercent.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}").ToHashSet();
        var incidentsSent = district.Incidents.Take(incidents.Sent).Select(i => $"{i.incidentId}|{i.studentId}|{i.date}|{i.category}|{i.severity}").ToHashSet();
        Assert.Contains(faultRun.IndicatorStates, s => s.Key.EndsWith("|course-performance", StringComparison.Ordinal) && s.Value.StartsWith("1|", StringComparison.Ordinal));
        Assert.Contains(faultRun.IndicatorStates, s => s.Key.EndsWith("|behavior", StringComparison.Ordinal) && s.Value.StartsWith("1|", StringComparison.Ordinal));
        CheckConsistent(faultRun, sent, answersSent);
        CheckSignals(faultRun, marksSent, incidentsSent);

        // Rebuild: stop the downstream services, start them on empty databases, replay Ingestion's log.
        foreach (var name in new[] { "Mastery", "EarlyWarning", "Interventions", "Notifications" })
        {
            var (took, code) = await _platform[name].TerminateAsync(TimeSpan.FromSeconds(40));
            Log($"{name} stopped by SIGTERM in {took.TotalSeconds:F1} s (exit code {code})");
            // The model registry is configuration, not a projection: the rebuild scores with the same model.
            string[] keep = name == "EarlyWarning" ? ["Models", "ModelArtifacts", "DistrictThresholds"] : [];
            await _platform.UseFreshStoreAsync(name, keep);
            Log($"  {name} rebuilds into {_platform.Stores.Describe(name)}{(keep.Length > 0 ? $", holding only {string.Join(", ", keep)}" : "")}");
            await _platform[name].RestartAsync(Start);
        }
        // The replay publishes every accepted event with publisher confirms before it answers: minutes on a loaded machine.
        using var ingestion = new HttpClient { BaseAddress = _platform["Ingestion"].Http, Timeout = TimeSpan.FromMinutes(10) };
        await Authorize(ingestion);
        using var replay = await ingestion.PostAsync("/api/ingestion/v1/replay", null);
        var replayed = await replay.Content.ReadAsStringAsync();
        Assert.True(replay.IsSuccessStatusCode, $"replay -> {(int)replay.StatusCode}: {replayed}");
        Log($"replay: {replayed}");
        var clean = await SettleAsync(_platform);
        Log("settled after the clean replay into fresh databases:");
        Report(clean);
        CheckConsistent(clean, sent, answersSent);
        CheckSignals(clean, marksSent, incidentsSent);

        AssertSame("Early warning attendance", faultRun.EarlyWarningAttendance, clean.EarlyWarningAttendance);
        AssertSame("Interventions attendance", faultRun.InterventionsAttendance, clean.InterventionsAttendance);
        AssertSame("risk states (days enrolled|absent|chronic|crossings)", Pairs(faultRun.RiskStates), Pairs(clean.RiskStates));
        AssertSame("risk scores", Pairs(faultRun.RiskScores), Pairs(clean.RiskScores));
        AssertSame("alerts (student|kind|crossing)", faultRun.Alerts.Values.ToHashSet(), clean.Alerts.Values.ToHashSet());
        AssertSame("cases per student", Pairs(faultRun.CasesPerStudent.ToDictionary(p => p.Key, p => p.Value.ToString())),
            Pairs(clean.CasesPerStudent.ToDictionary(p => p.Key, p => p.Value.ToString())));
        // Which alert of a student carried the notice depends on the order alerts arrive in; who was told about whom does not.
        AssertSame("students told to each counselor (student|staff)", faultRun.FeedEntries.Select(f => $"{faultRun.Alerts[f.AlertId].Split('|')[0]}|{f.StaffId}").ToHashSet(),
            clean.FeedEntries.Select(f => $"{clean.Alerts[f.AlertId].Split('|')[0]}|{f.StaffId}").ToHashSet());
        AssertSame("mastery (student|skill = probability|peak|attempts|correct|struggling)", Pairs(faultRun.Mastery), Pairs(clean.Mastery));
        AssertSame("behaviour and course indicators (student|kind = flagged|crossings|score)", Pairs(faultRun.IndicatorStates), Pairs(clean.IndicatorStates));
        Assert.Equal(faultRun.MasterySteps, clean.MasterySteps);
        Log("the projections after the faults equal the clean replay's");
        _passed = true;
    }

    /// <summary>Everything the platform stored agrees with what the feed sent, once each, all the way down.</summary>
    private void CheckConsistent(Projections p, HashSet<string> sent, List<AnswerRow> answersSent)
    {
        var answered = answersSent.Select(a => $"{a.studentId}|{a.itemId}|{a.attemptNumber}|{(a.correct ? 1 : 0)}").ToHashSet();
        Assert.Equal(p.IngestionRows, p.IngestionDistinctKeys);
        AssertSame("Ingestion's stored attendance vs. the records sent", sent, p.IngestionAttendance);
        AssertSame("Ingestion's stored answers vs. the answers sent", answered, p.IngestionAnswers);
        AssertSame("Mastery's applied answers vs. Ingestion's", p.IngestionAnswers, p.MasteryAnswers);
        // One step per answer and skill (each answer here practises one skill), none twice.
        Assert.Equal(p.MasteryAnswers.Count, p.MasterySteps);
        AssertSame("Mastery's student-skill estimates vs. the skills practised", answersSent.SelectMany(a => a.skillIds.Select(s => $"{a.studentId}|{s}")).ToHashSet(),
            p.Mastery.Keys.ToHashSet());
        AssertSame("Early warning's attendance vs. Ingestion's", p.IngestionAttendance, p.EarlyWarningAttendance);
        AssertSame("Interventions' attendance vs. Ingestion's", p.IngestionAttendance, p.InterventionsAttendance);
        Assert.NotEmpty(p.Alerts);
        Assert.Equal(p.RiskStates.Keys.Order(), p.RiskScores.Keys.Select(k => k.Split('|')[0]).Order());
        foreach (var (alertId, key) in p.Alerts)
        {
            Assert.True(p.CaseOfAlert.ContainsKey(alertId), $"alert {key} has no case");
        }
        Assert.All(p.CasesPerStudent, c => Assert.True(c.Value == 1, $"{c.Key} has {c.Value} cases"));
        // Notifications keeps one worklist entry per (counselor, student) and tells the counselor only of a material change
        // (a new student, a new kind of reason, a level up): every alerted student reached both counselors of the school,
        // nobody else; no alert was told twice to anyone; each notice went once to the feed and once by e-mail.
        static string SchoolOf(string student) => student[..student.LastIndexOf("-s", StringComparison.Ordinal)];
        foreach (var student in p.Alerts.Values.Select(k => k.Split('|')[0]).Distinct())
        {
            var told = p.FeedEntries.Where(f => p.Alerts.TryGetValue(f.AlertId, out var k) && k.Split('|')[0] == student).Select(f => f.StaffId).Distinct().Order();
            Assert.Equal([$"{SchoolOf(student)}-c1", $"{SchoolOf(student)}-c2"], told);
        }
        Assert.All(p.FeedEntries, f => Assert.True(p.Alerts.ContainsKey(f.AlertId), $"feed entry for {f.AlertId}, which is no alert"));
        Assert.Equal(p.FeedEntries.Count, p.FeedEntries.Distinct().Count());
        AssertSame("deliveries vs. feed entries (staff|alert)", p.FeedEntries.Select(f => $"{f.StaffId}|{f.AlertId}").ToHashSet(),
            p.Deliveries.Select(d => $"{d.StaffId}|{d.AlertId}").ToHashSet());
        Assert.Equal(p.FeedEntries.Count, p.Deliveries.Count);
    }

    /// <summary>Every mark and incident the feeds sent is stored once in Ingestion and once in Early warning's projections.</summary>
    private static void CheckSignals(Projections p, HashSet<string> marksSent, HashSet<string> incidentsSent)
    {
        AssertSame("Ingestion's stored marks vs. the marks sent", marksSent, p.IngestionGrades);
        AssertSame("Early warning's marks vs. Ingestion's", p.IngestionGrades, p.EarlyWarningMarks);
        AssertSame("Ingestion's stored incidents vs. the incidents sent", incidentsSent, p.IngestionIncidents);
        AssertSame("Early warning's incidents vs. Ingestion's", p.IngestionIncidents, p.EarlyWarningIncidents);
    }

    private void Report(Projections p)
    {
        Log($"  Ingestion: {p.IngestionRows} attendance rows, {p.IngestionDistinctKeys} distinct keys; outbox rows unsent in all services: {p.UnsentOutbox}");
        Log($"  Early warning: {p.EarlyWarningAttendance.Count} attendance days, {p.RiskStates.Count} students, "
            + $"{p.RiskStates.Values.Count(v => v.Split('|')[2] is "1" or "True")} chronically absent, {p.Alerts.Count} alerts, {p.RiskScores.Count} model scores");
        Log($"  Interventions: {p.InterventionsAttendance.Count} attendance days, {p.CasesPerStudent.Values.Sum()} cases for {p.CasesPerStudent.Count} students, {p.CaseOfAlert.Count} alerts attached");
        Log($"  Mastery: {p.MasteryAnswers.Count} answers applied of {p.IngestionAnswers.Count} stored, {p.MasterySteps} steps, {p.Mastery.Count} student-skill estimates, "
            + $"{p.Mastery.Values.Count(v => v.Split('|')[4] is "1" or "True")} struggling");
        Log($"  Course marks: {p.IngestionGrades.Count} in Ingestion, {p.EarlyWarningMarks.Count} in Early warning; incidents: {p.IngestionIncidents.Count} / {p.EarlyWarningIncidents.Count}; "
            + $"indicators flagged: {string.Join(", ", p.IndicatorStates.Where(s => s.Value.StartsWith("1|", StringComparison.Ordinal)).GroupBy(s => s.Key.Split('|')[1]).Select(g => $"{g.Key} {g.Count()}"))}");
        Log($"  Notifications: {p.FeedEntries.Count} feed entries, {p.Deliveries.Count} outbound deliveries ({string.Join(", ", p.Deliveries.GroupBy(d => d.Channel).Select(g => $"{g.Key} {g.Count()}"))})");
    }

    /// <summary>Waits until no outbox row is unsent, every queue is empty and nothing changes for three looks in a row.</summary>
    private async Task<Projections> SettleAsync(Platform platform)
    {
        var deadline = Stopwatch.StartNew();
        string? last = null;
        var stable = 0;
        while (true)
        {
            var queues = await _broker.QueuesAsync();
            var p = Projections.Read(platform);
            var waiting = queues.Where(q => !q.Key.EndsWith("_error", StringComparison.Ordinal) && q.Value > 0).Sum(q => q.Value);
            var fingerprint = $"{p.Fingerprint}/{waiting}";
            stable = fingerprint == last && waiting == 0 && p.UnsentOutbox == 0 ? stable + 1 : 0;
            last = fingerprint;
            if (deadline.Elapsed.TotalSeconds % 15 < 1.2)
            {
                Log($"  settling: {fingerprint}; queues: {string.Join(", ", queues.Where(q => q.Value > 0).Select(q => $"{q.Key}={q.Value}"))}");
            }
            if (stable >= 3)
            {
                var errors = queues.Where(q => q.Key.EndsWith("_error", StringComparison.Ordinal)).ToList();
                Log($"  queues: {queues.Count}, messages waiting 0, dead-lettered to _error queues: {errors.Sum(q => q.Value)}");
                Assert.All(errors, q => Assert.True(q.Value == 0, $"{q.Value} messages in {q.Key}"));
                return p;
            }
            if (deadline.Elapsed > SettleTimeout)
            {
                throw new TimeoutException($"The platform did not settle within {SettleTimeout}: {fingerprint}; queues: "
                    + string.Join(", ", queues.Where(q => q.Value > 0).Select(q => $"{q.Key}={q.Value}")));
            }
            await Task.Delay(1000);
        }
    }

    private static async Task IgnoreCancellation(Task task)
    {
        try
        {
            await task;
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static HashSet<string> Pairs(IReadOnlyDictionary<string, string> map) => map.Select(p => $"{p.Key}={p.Value}").ToHashSet();

    private static void AssertSame(string what, IReadOnlySet<string> expected, IReadOnlySet<string> actual)
    {
        var missing = expected.Except(actual).Take(5).ToList();
        var extra = actual.Except(expected).Take(5).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"{what}: expected {expected.Count}, found {actual.Count}; missing e.g. [{string.Join(", ", missing)}], unexpected e.g. [{string.Join(", ", extra)}]");
    }

    /// <summary>Once authentication is on (the gateway's development issuer), every call carries an administrator token.</summary>
    private async Task Authorize(HttpClient client)
    {
        using var gateway = new HttpClient { BaseAddress = _platform.Gateway };
        using var response = await gateway.PostAsJsonAsync("/auth/dev/token", new { user = "admin-1" });
        if (response.IsSuccessStatusCode)
        {
            var token = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString();
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }
}

/// <summary>The fault test with every service on its own SQLite file, as <c>./beacon up</c> runs them.</summary>
[Collection(ProcessTests.Name)]
public sealed class FaultTests(ITestOutputHelper output) : FaultTestsBase(output)
{
    protected override ServiceStores? CreateStores(string dataDirectory) => new SqliteStores(dataDirectory);
}

/// <summary>
/// The same faults with every service on its own PostgreSQL database, as a district runs on Kubernetes; an outage cuts the
/// service's connections and refuses new ones for 4 s. Skipped unless BEACON_TEST_POSTGRES is set (./beacon test sets it).
/// </summary>
[Collection(ProcessTests.Name)]
public sealed class PostgresFaultTests(ITestOutputHelper output) : FaultTestsBase(output)
{
    protected override ServiceStores? CreateStores(string dataDirectory) => PostgresStores.OnTestServer();
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessTests
{
    public const string Name = "Processes";
}
