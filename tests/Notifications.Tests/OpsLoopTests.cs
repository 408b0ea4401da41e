extern alias EarlyWarning;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Beacon.Messaging;
using Beacon.Notifications.Domain;
using Beacon.Notifications.Storage;
using Beacon.Simulator;
using Beacon.Testing;
using EarlyWarning::Beacon.EarlyWarning.Monitoring;
using EarlyWarning::Beacon.EarlyWarning.Scoring;
using EarlyWarning::Beacon.EarlyWarning.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Xunit.Abstractions;
using AttendanceDay = EarlyWarning::Beacon.EarlyWarning.Storage.AttendanceDay;
using EarlyWarningProgram = EarlyWarning::Program;

namespace Beacon.Notifications.Tests;

/// <summary>
/// The ops loop against real parts: Early warning hosts and a Notifications host on the real RabbitMQ, a real SMTP server,
/// Notifications' staff directory exactly as ./beacon up passes it. A planted drift reaches the ops feed and an ops mailbox;
/// a false-positive breach alarms although drift is refused; two replicas share one nightly re-score; a run whose replica
/// died mid-run is taken over when its lease runs out.
/// </summary>
public sealed class OpsLoopTests(OpsLoopTests.Fixture fixture, ITestOutputHelper output) : IClassFixture<OpsLoopTests.Fixture>, IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _hosts = [];

    /// <summary>One Notifications host with ./beacon up's directory, mailing to a real SMTP server.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        public TestSmtpServer Smtp { get; } = new();
        public ServiceFactory<Program> Notifications { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Notifications = new ServiceFactory<Program>
            {
                Settings =
                {
                    ["Notifications:Smtp:Host"] = "127.0.0.1",
                    ["Notifications:Smtp:Port"] = Smtp.Port.ToString(),
                    ["Notifications:PollInterval"] = "00:00:00.200",
                },
            };
            foreach (var (key, value) in BeaconUpDirectory())
            {
                Notifications.Settings[key] = value;
            }
            await Notifications.WaitUntilReadyAsync();
        }

        public async Task DisposeAsync()
        {
            await Notifications.DisposeAsync();
            await Smtp.DisposeAsync();
        }
    }

    /// <summary>The --Notifications:Directory:… arguments ./beacon up gives Notifications, read from the script itself.</summary>
    public static Dictionary<string, string?> BeaconUpDirectory()
    {
        var script = File.ReadAllText(Path.Combine(TestEnvironment.RepositoryRoot(), "beacon"));
        var settings = Regex.Matches(script, "--(Notifications:Directory:[^=\\s]+)=(\"[^\"]*\"|\\S+)")
            .ToDictionary(m => m.Groups[1].Value, string? (m) => m.Groups[2].Value.Trim('"').TrimEnd(')'));
        Assert.True(settings.Count >= 4, "./beacon up gives Notifications no staff directory");
        return settings;
    }

    private sealed class EarlyWarningHost(ManualClock? clock) : ServiceFactory<EarlyWarningProgram>
    {
        protected override void ConfigureTestServices(IServiceCollection services)
        {
            if (clock is not null)
            {
                services.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock));
            }
        }
    }

    private async Task<EarlyWarningHost> StartEarlyWarningAsync(ManualClock? clock, string? database, Dictionary<string, string?> settings)
    {
        var host = new EarlyWarningHost(clock) { ConnectionString = database, BusScope = fixture.Notifications.BusScope };
        host.Settings["EarlyWarning:Models:Trees"] = "40";
        host.Settings["EarlyWarning:Monitoring:RetrainStudents"] = "1500";
        foreach (var (key, value) in settings)
        {
            host.Settings[key] = value;
        }
        _hosts.Add(host);
        await host.WaitUntilReadyAsync();
        return host;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            if (host is EarlyWarningHost ew)
            {
                await ew.Services.GetRequiredService<RetrainingRunner>().WhenIdleAsync();
            }
            await host.DisposeAsync();
        }
    }

    private static async Task<JsonElement> TrainAsync(HttpClient client)
    {
        using var train = await client.PostAsJsonAsync("/api/early-warning/v1/models/train", new { kind = "chronic-absence", students = 1500, seed = 5, promote = true });
        Assert.Equal(HttpStatusCode.OK, train.StatusCode);
        return await train.Content.ReadFromJsonAsync<JsonElement>();
    }

    private Task<List<FeedEntry>> OpsFeedAsync(Guid sourceEventId) => fixture.Notifications.WithDbAsync<NotificationsDbContext, List<FeedEntry>>(db =>
        db.Feed.AsNoTracking().Where(f => f.SourceEventId == sourceEventId).ToListAsync());

    [Fact]
    public async Task A_planted_drift_reaches_the_ops_feed_and_an_ops_mailbox_not_a_dead_letter()
    {
        var ew = await StartEarlyWarningAsync(null, null, new() { ["EarlyWarning:Monitoring:Enabled"] = "false", ["EarlyWarning:Scoring:Enabled"] = "false" });
        using var client = ew.CreateClient();
        await TrainAsync(client);
        // The simulator's district with --shift-day 40: from school day 40 on, late arrivals are recorded as absences.
        const int shiftDay = 40;
        var district = DistrictGenerator.Generate(new SimulationOptions(Seed: 11, Schools: 2, StudentsPerSchool: 150, SchoolDays: 72,
            LastDay: new DateOnly(2027, 2, 26), ItemsPerDay: 0, ShiftFromDay: shiftDay));
        var dates = district.Attendance.Select(a => a.Date).Distinct().Order().ToArray();
        await ew.WithDbAsync<EarlyWarningDbContext, int>(db =>
        {
            db.AttendanceDays.AddRange(district.Attendance.Select(a => new AttendanceDay { StudentId = a.StudentId, Date = a.Date, Status = a.Status }));
            // Each student's school, as the attendance consumer records it: what the model is served is read per school.
            db.RiskStates.AddRange(district.Students.Select(st => new StudentRiskState { StudentId = st.StudentId, SchoolId = st.SchoolId }));
            return db.SaveChangesAsync();
        });
        // The first check pins the baseline before the shift; the one 32 school days after it compares a window wholly after it.
        var baselineDay = dates[shiftDay - 6];
        var afterShift = dates[^1];
        foreach (var asOf in new[] { baselineDay, afterShift })
        {
            using var run = await client.PostAsJsonAsync("/api/early-warning/v1/monitoring/drift/run", new { asOf = asOf.ToString("yyyy-MM-dd") });
            Assert.Equal(HttpStatusCode.OK, run.StatusCode);
            var text = await run.Content.ReadAsStringAsync();
            output.WriteLine($"{asOf}: {text[..Math.Min(300, text.Length)]}");
        }
        var alerted = await ew.WithDbAsync<EarlyWarningDbContext, DriftRun?>(db =>
            db.DriftRuns.AsNoTracking().FirstOrDefaultAsync(r => r.Alerted && r.AsOf == afterShift));
        Assert.NotNull(alerted);
        // What the alarm must say: the planted change is in late arrivals, so tardies moved past the default input bound; and the
        // score's drift, whichever way it went. A model trained across the term may move its score less than the input.
        var measures = await ew.WithDbAsync<EarlyWarningDbContext, List<DriftMeasurement>>(db =>
            db.DriftMeasurements.AsNoTracking().Where(m => m.RunId == alerted.RunId).ToListAsync());
        var moved = measures.Where(m => m.Measure != "score" && m.Psi > MonitoringOptions.DefaultInputAlarmPsi["chronic-absence"]).OrderByDescending(m => m.Psi).ToList();
        output.WriteLine($"score PSI {alerted.ScorePsi:F3}; past the input bound: {string.Join(", ", moved.Select(m => $"{m.Measure} {m.Psi:F2}"))}");
        Assert.Contains("tardies", moved.Select(m => m.Measure));
        string[] says = [.. moved.Select(m => $"input {m.Measure} of chronic-absence v1 moved from its baseline by PSI {m.Psi:F2}"),
            alerted.ScorePsi > 0.25 ? $"drifted from its baseline (PSI {alerted.ScorePsi:F2} > 0.25)" : $"The score's PSI is {alerted.ScorePsi:F2}"];

        // Notifications: one ops alarm, in ops-1's feed (from the directory ./beacon up passes), and an e-mail to ops-1's address.
        var feed = await Eventually.WaitAsync(() => OpsFeedAsync(alerted.RunId), f => f.Count > 0, TimeSpan.FromSeconds(60));
        Assert.Equal(["ops-1"], feed.Select(f => f.StaffId));
        Assert.Equal(EventKinds.ModelDrift, feed[0].Kind);
        Assert.Contains("drift.svg?kind=chronic-absence", feed[0].Body);
        var mail = await Eventually.WaitAsync(() => Task.FromResult(fixture.Smtp.Received.Where(m => (m.Subject ?? "").Contains("Model drift", StringComparison.Ordinal)
            && m.To.ToString().Contains("ops-1@localhost", StringComparison.Ordinal)).ToList()),
            m => m.Count > 0, TimeSpan.FromSeconds(60));
        Assert.Single(mail);
        Assert.All(says, text => Assert.Contains(text, mail[0].TextBody));
        var alarm = await fixture.Notifications.WithDbAsync<NotificationsDbContext, OpsAlarm?>(db => db.OpsAlarms.AsNoTracking().FirstOrDefaultAsync(a => a.AlarmId == alerted.RunId));
        Assert.Null(alarm!.Error);
        Assert.False(await fixture.Notifications.WithDbAsync<NotificationsDbContext, bool>(db =>
            db.Deliveries.AnyAsync(d => d.SourceEventId == alerted.RunId && d.Status == DeliveryStatuses.Dead)));

        // The drift started a retraining job; its challenger waiting for promotion is an ops alarm of its own.
        var job = await Eventually.WaitAsync(() => ew.WithDbAsync<EarlyWarningDbContext, RetrainingJob?>(db =>
            db.RetrainingJobs.AsNoTracking().FirstOrDefaultAsync(j => j.Status != RetrainingStatuses.Running)), j => j is not null, TimeSpan.FromSeconds(180));
        Assert.Equal(RetrainingStatuses.Succeeded, job!.Status);
        var waiting = await Eventually.WaitAsync(() => OpsFeedAsync(job.JobId), f => f.Count > 0, TimeSpan.FromSeconds(60));
        Assert.Equal(EventKinds.ChallengerWaiting, waiting.Single().Kind);
    }

    [Fact]
    public async Task A_false_positive_breach_alarms_although_drift_is_refused()
    {
        var clock = new ManualClock(DateTimeOffset.Parse("2026-12-02T02:59:00+00:00"));
        var ew = await StartEarlyWarningAsync(clock, null, new()
        {
            ["EarlyWarning:Scoring:Enabled"] = "false",
            ["EarlyWarning:Monitoring:DailyAt"] = "03:00",
            ["EarlyWarning:Monitoring:PollInterval"] = "00:00:00.100",
            ["EarlyWarning:Monitoring:RetrainCooldownDays"] = "7",
            ["EarlyWarning:Monitoring:ExpectedFprHigh"] = "0.20",
        });
        using var client = ew.CreateClient();
        var model = await TrainAsync(client);
        var modelId = Guid.Parse(model.GetProperty("modelId").GetString()!);
        var version = model.GetProperty("version").GetInt32();
        // Two labelled weeks in which half the students who did not become chronically absent were flagged (FPR 50 % > 25 %),
        // and no attendance at all: the drift check is refused (fewer than 100 students).
        var students = Enumerable.Range(1, 40).Select(i => $"fpr-{i:00}").ToArray();
        await ew.WithDbAsync<EarlyWarningDbContext, int>(db =>
        {
            foreach (var week in new[] { new DateOnly(2026, 11, 16), new DateOnly(2026, 11, 23) })
            {
                db.ScoreSnapshots.AddRange(students.Select((s, i) => new ScoreSnapshot
                {
                    StudentId = s,
                    Kind = "chronic-absence",
                    WeekStart = week,
                    SchoolId = "north",
                    ModelId = modelId,
                    ModelVersion = version,
                    Score = i % 2 == 0 ? 0.7 : 0.05,
                    Flagged = i % 2 == 0,
                    Threshold = 0.5,
                    ScoredAt = clock.GetUtcNow(),
                }));
            }
            return db.SaveChangesAsync();
        });
        using (var outcomes = await client.PostAsJsonAsync("/api/early-warning/v1/monitoring/outcomes",
            new { outcomes = students.Select(s => new { studentId = s, outcome = "term-under-10pct-absence", knownOn = "2026-12-01" }) }))
        {
            Assert.Equal(HttpStatusCode.OK, outcomes.StatusCode);
        }

        clock.Set(DateTimeOffset.Parse("2026-12-02T03:00:05+00:00"));
        var jobs = await Eventually.WaitAsync(() => client.GetFromJsonAsync<JsonElement>("/api/early-warning/v1/jobs"),
            j => j.GetProperty("jobs").EnumerateArray().Any(x => x.GetProperty("job").GetString() == MonitoringSchedule.Job && x.GetProperty("runs").GetInt32() == 1),
            TimeSpan.FromSeconds(60));
        var daily = jobs.GetProperty("jobs").EnumerateArray().Single(x => x.GetProperty("job").GetString() == MonitoringSchedule.Job);
        var outcome = daily.GetProperty("lastOutcome").GetString()!;
        Assert.Contains("drift check skipped (Only 0 student(s)", outcome);
        Assert.Contains("FPR above the bound", outcome);
        Assert.Equal(DateTimeOffset.Parse("2026-12-03T03:00:00+00:00"), daily.GetProperty("nextRunAt").GetDateTimeOffset());

        var alarmId = await Eventually.WaitAsync(() => fixture.Notifications.WithDbAsync<NotificationsDbContext, OpsAlarm?>(db =>
            db.OpsAlarms.AsNoTracking().FirstOrDefaultAsync(a => a.Kind == EventKinds.FprAboveBound && a.Body.Contains(modelId.ToString()))),
            a => a is not null, TimeSpan.FromSeconds(60));
        Assert.Contains("50.0 %", alarmId!.Body);
        var feed = await OpsFeedAsync(alarmId.AlarmId);
        Assert.Equal(["ops-1"], feed.Select(f => f.StaffId));
        // Before labels, the expected FPR of the latest week (20 flagged at 0.7, 20 not at 0.05: 6 / 25 = 24 %) is above the band's 20 %.
        Assert.Contains("expected FPR 24.0 % out of band", outcome);
        var expected = await Eventually.WaitAsync(() => fixture.Notifications.WithDbAsync<NotificationsDbContext, OpsAlarm?>(db =>
            db.OpsAlarms.AsNoTracking().FirstOrDefaultAsync(a => a.Kind == EventKinds.ExpectedFprBand && a.Body.Contains(modelId.ToString()))),
            a => a is not null, TimeSpan.FromSeconds(60));
        Assert.Contains("24.0 %", expected!.Title);
    }

    [SkippableFact]
    public async Task Two_replicas_run_one_nightly_rescore_between_them()
    {
        Skip.If(TestEnvironment.Postgres is null, "BEACON_TEST_POSTGRES is not set");
        var database = TestPostgres.NewDatabase(TestEnvironment.Postgres!);
        var clock = new ManualClock(DateTimeOffset.Parse("2026-09-08T01:59:00+00:00"));
        var settings = new Dictionary<string, string?>
        {
            ["EarlyWarning:Monitoring:Enabled"] = "false",
            ["EarlyWarning:Scoring:NightlyAt"] = "02:00",
            ["EarlyWarning:Scoring:PollInterval"] = "00:00:00.050",
            // Replicas share the model files as they do in the chart (a shared volume or object storage): whichever runs the night loads them.
            ["EarlyWarning:Models:Directory"] = TestEnvironment.NewTempDirectory("ops-loop-models"),
        };
        var first = await StartEarlyWarningAsync(clock, database, settings);
        var second = await StartEarlyWarningAsync(clock, database, settings);
        using var client = first.CreateClient();
        await TrainAsync(client);
        await first.WithDbAsync<EarlyWarningDbContext, int>(db =>
        {
            db.AttendanceDays.AddRange(Enumerable.Range(0, 10).SelectMany(d => Enumerable.Range(1, 20).Select(s =>
                new AttendanceDay { StudentId = $"rep-{s:00}", Date = new DateOnly(2026, 9, 1).AddDays(d), Status = (s + d) % 4 == 0 ? "absent" : "present" })));
            db.RiskStates.AddRange(Enumerable.Range(1, 20).Select(s => new StudentRiskState { StudentId = $"rep-{s:00}", SchoolId = "north" }));
            return db.SaveChangesAsync();
        });

        clock.Set(DateTimeOffset.Parse("2026-09-08T02:00:01+00:00"));
        var job = await Eventually.WaitAsync(() => first.Services.GetRequiredService<ScheduledJobs<EarlyWarningDbContext>>().ListAsync(CancellationToken.None),
            j => j.Any(x => x.Job == NightlyRescoreService.Job && x.Runs > 0), TimeSpan.FromSeconds(60));
        // Both replicas keep looking every 50 ms for two more seconds: the night is not run again.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var state = (await second.Services.GetRequiredService<ScheduledJobs<EarlyWarningDbContext>>().ListAsync(CancellationToken.None))
            .Single(x => x.Job == NightlyRescoreService.Job);
        Assert.Equal(1, state.Runs);
        Assert.StartsWith("re-scored", state.LastOutcome);
        Assert.True(state.LastCount >= 20, $"{state.LastCount} scores");
        Assert.Contains(state.LastRunBy, new[] { first.Services, second.Services }.Select(s => s.GetRequiredService<ScheduledJobs<EarlyWarningDbContext>>().Instance));
        Assert.Equal(DateTimeOffset.Parse("2026-09-09T02:00:00+00:00"), state.NextRunAt);
        output.WriteLine($"run by {state.LastRunBy}: {state.LastOutcome}, {state.LastCount} scores; {job.Count} job(s)");
        // Each replica answers the same status from the database.
        using var other = second.CreateClient();
        var status = await other.GetFromJsonAsync<JsonElement>("/api/early-warning/v1/scoring/nightly");
        Assert.Equal(1, status.GetProperty("runs").GetInt32());
    }

    [Fact]
    public async Task A_run_whose_replica_died_mid_run_is_taken_over_when_its_lease_runs_out()
    {
        var clock = new ManualClock(DateTimeOffset.Parse("2026-09-08T02:00:30+00:00"));
        var ew = await StartEarlyWarningAsync(clock, null, new()
        {
            ["EarlyWarning:Monitoring:Enabled"] = "false",
            ["EarlyWarning:Scoring:NightlyAt"] = "02:00",
            ["EarlyWarning:Scoring:PollInterval"] = "00:00:00.050",
            ["EarlyWarning:Scoring:Lease"] = "00:02:00",
        });
        var jobs = ew.Services.GetRequiredService<ScheduledJobs<EarlyWarningDbContext>>();
        await Eventually.WaitAsync(() => jobs.ListAsync(CancellationToken.None), j => j.Any(x => x.Job == NightlyRescoreService.Job), TimeSpan.FromSeconds(30));
        // What a replica killed at 02:00:10 leaves: tonight's run leased to it until 02:02:10, never finished.
        var killedAt = DateTimeOffset.Parse("2026-09-08T02:00:10+00:00");
        await ew.WithDbAsync<EarlyWarningDbContext, int>(db => db.Set<ScheduledJobState>().Where(j => j.Job == NightlyRescoreService.Job)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.NextRunAt, DateTimeOffset.Parse("2026-09-08T02:00:00+00:00").ToUnixTimeMilliseconds())
                .SetProperty(j => j.Owner, "killed-replica").SetProperty(j => j.LeaseUntil, killedAt.AddMinutes(2).ToUnixTimeMilliseconds())
                .SetProperty(j => j.LastStartedAt, killedAt.ToUnixTimeMilliseconds())));
        clock.Set(killedAt.AddMinutes(1));

        // Within the lease nobody else runs it.
        await Task.Delay(TimeSpan.FromSeconds(1));
        var held = (await jobs.ListAsync(CancellationToken.None)).Single(x => x.Job == NightlyRescoreService.Job);
        Assert.Equal((0, "killed-replica", true), (held.Runs, held.RunningOn, held.Running));

        // Once it has run out, the live replica takes the run over, finishes it and plans tomorrow's.
        clock.Set(killedAt.AddMinutes(2).AddSeconds(1));
        var done = await Eventually.WaitAsync(async () => (await jobs.ListAsync(CancellationToken.None)).Single(x => x.Job == NightlyRescoreService.Job),
            j => j.Runs == 1, TimeSpan.FromSeconds(30));
        Assert.Equal(1, done.Recovered);
        Assert.Contains("did not finish", done.LastOutcome);
        Assert.Contains("killed-replica", done.LastOutcome);
        Assert.Equal(jobs.Instance, done.LastRunBy);
        Assert.False(done.Running);
        Assert.Equal(DateTimeOffset.Parse("2026-09-09T02:00:00+00:00"), done.NextRunAt);
    }
}
