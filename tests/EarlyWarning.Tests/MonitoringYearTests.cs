using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Monitoring;
using Beacon.EarlyWarning.Storage;
using Beacon.Simulator;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Xunit.Abstractions;

namespace Beacon.EarlyWarning.Tests;

/// <summary>
/// One simulated school year through the service against the real RabbitMQ: a district from the simulator
/// with a recording change planted mid-year, scored weekly by the active model, drift checked weekly, then
/// the outcomes. Ops see drift, realised and expected FPR, subgroup gaps and the challenger over REST;
/// the planted shift raises ModelDriftDetected and starts a training job. The printed figures are the ones
/// in bench/RESULTS.md (dotnet test --filter MonitoringYearTests --logger "console;verbosity=detailed").
/// </summary>
public sealed class MonitoringYearTests(ITestOutputHelper output) : IAsyncLifetime
{
    // The simulator's disengaging students slide all year (a real, slow drift); the planted change comes
    // early enough that the slide has not yet moved the score as far on its own.
    private const int SchoolDays = 120;
    private const int ShiftFromDay = 50;
    private static readonly DateOnly LastDay = new(2027, 4, 30);
    private readonly ManualClock _clock = new(DateTimeOffset.Parse("2026-09-01T18:00:00+00:00"));
    private readonly ConcurrentBag<ModelDriftDetected> _drift = [];
    private ClockedService _service = null!;
    private HttpClient _client = null!;
    private HostReceiveEndpointHandle? _observer;

    private sealed class ClockedService(ManualClock clock) : ServiceFactory<Program>
    {
        protected override void ConfigureTestServices(IServiceCollection services) => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock));
    }

    public async Task InitializeAsync()
    {
        _service = new ClockedService(_clock)
        {
            Settings =
            {
                ["EarlyWarning:Models:Trees"] = "40",
                ["EarlyWarning:Scoring:Enabled"] = "false",
                ["EarlyWarning:Monitoring:Enabled"] = "false",   // the test runs the checks itself, on simulated days
                ["EarlyWarning:Monitoring:MinimumStudents"] = "100",
                ["EarlyWarning:Monitoring:MinimumGroupSize"] = "20",
                ["EarlyWarning:Monitoring:RetrainStudents"] = "2000",
            },
        };
        await _service.WaitUntilReadyAsync();
        _client = _service.CreateClient();
        var bus = _service.Services.GetRequiredService<IBus>();
        _observer = await bus.ObserveAsync<ModelDriftDetected>(ctx =>
        {
            // Only this test's service (a second host given the same bus scope would publish to the same exchange).
            if (ctx.SourceAddress == bus.Address)
            {
                _drift.Add(ctx.Message);
            }
        });
    }

    public async Task DisposeAsync()
    {
        if (_observer is not null)
        {
            await _observer.StopAsync();
        }
        await _service.Services.GetRequiredService<RetrainingRunner>().WhenIdleAsync();
        await _service.DisposeAsync();
    }

    [Fact]
    public async Task A_simulated_year_with_a_planted_shift_shows_drift_fpr_and_gaps_and_starts_a_challenger()
    {
        var district = DistrictGenerator.Generate(new SimulationOptions(Seed: 11, Schools: 2, StudentsPerSchool: 150, SchoolDays: SchoolDays, LastDay: LastDay,
            ItemsPerDay: 0, ShiftFromDay: ShiftFromDay));
        using (var train = await _client.PostAsJsonAsync("/api/early-warning/v1/models/train", new { kind = "chronic-absence", students = 3000, seed = 5, promote = true }))
        {
            Assert.Equal(HttpStatusCode.OK, train.StatusCode);
        }
        // Demographics arrive as Ingestion publishes them: over the real broker.
        var bus = _service.Services.GetRequiredService<IBus>();
        foreach (var s in district.Students)
        {
            await bus.Publish(new StudentDemographicsRecorded(s.StudentId, s.Sex, s.RaceEthnicity, s.EconomicallyDisadvantaged, s.EnglishLearner, s.Disability, DateTimeOffset.UtcNow));
        }
        await _service.WithDbAsync<EarlyWarningDbContext, int>(async db =>
        {
            db.RiskStates.AddRange(district.Students.Select(s => new StudentRiskState { StudentId = s.StudentId, SchoolId = s.SchoolId }));
            return await db.SaveChangesAsync();
        });

        // The year, a week at a time: the week's days land in the attendance projection (the event path is
        // AttendanceToAlertTests' business; 60,000 events would only make this slow), Friday evening the
        // active model re-scores everyone and the drift check runs.
        var dates = district.Attendance.Select(a => a.Date).Distinct().Order().ToArray();
        var byDate = district.Attendance.ToLookup(a => a.Date);
        var weeks = dates.GroupBy(d => d.AddDays(-(((int)d.DayOfWeek + 6) % 7))).ToArray();
        var tooEarly = 0;
        var driftAlertsBeforeShift = 0;
        foreach (var week in weeks)
        {
            await _service.WithDbAsync<EarlyWarningDbContext, int>(async db =>
            {
                db.AttendanceDays.AddRange(week.SelectMany(d => byDate[d]).Select(a => new Storage.AttendanceDay { StudentId = a.StudentId, Date = a.Date, Status = a.Status }));
                return await db.SaveChangesAsync();
            });
            var last = week.Max();
            _clock.Set(new DateTimeOffset(last.ToDateTime(new TimeOnly(18, 0)), TimeSpan.Zero));
            await RescoreAsync();
            using var run = await _client.PostAsJsonAsync("/api/early-warning/v1/monitoring/drift/run", new { asOf = last.ToString("yyyy-MM-dd") });
            if (run.StatusCode == HttpStatusCode.Conflict)
            {
                tooEarly++;   // fewer than 100 students with 30 school days yet
                continue;
            }
            Assert.Equal(HttpStatusCode.OK, run.StatusCode);
            var schoolDay = Array.IndexOf(dates, last) + 1;
            var runs = await run.Content.ReadFromJsonAsync<JsonElement>();
            output.WriteLine($"school day {schoolDay}: " + string.Join(", ", runs.EnumerateArray().Select(r => $"{r.GetProperty("reference").GetString()} score PSI {r.GetProperty("scorePsi").GetDouble():F3}")));
            if (schoolDay < ShiftFromDay && runs.EnumerateArray().Any(r => r.GetProperty("alerted").GetBoolean()))
            {
                driftAlertsBeforeShift++;
            }
        }
        Assert.InRange(tooEarly, 5, 7);   // the first 29 school days: about six weeks
        Assert.Equal(0, driftAlertsBeforeShift);

        // Drift history, both references, every measure.
        var history = await _client.GetFromJsonAsync<JsonElement>("/api/early-warning/v1/monitoring/drift?reference=baseline");
        var baselineRuns = history.EnumerateArray().ToArray();
        Assert.True(baselineRuns.Length >= 15, $"{baselineRuns.Length} baseline runs");
        Assert.All(baselineRuns, r => Assert.Equal(14, r.GetProperty("measures").GetArrayLength()));
        var alerted = baselineRuns.Where(r => r.GetProperty("alerted").GetBoolean()).ToArray();
        Assert.NotEmpty(alerted);
        var firstAlert = DateOnly.Parse(alerted[0].GetProperty("asOf").GetString()!);
        Assert.True(firstAlert > dates[ShiftFromDay - 1], $"first drift alert {firstAlert} before the shift on {dates[ShiftFromDay - 1]}");
        var detected = await Eventually.WaitAsync(() => Task.FromResult(_drift.Where(d => d.Kind == "chronic-absence").ToList()), d => d.Count > 0, TimeSpan.FromSeconds(60));
        Assert.Equal(firstAlert, detected.Min(d => d.AsOf));
        Assert.Equal("baseline", detected[0].Reference);

        // Against training, drift reads what was served (the year so far, every student with a day in the week) and the
        // training rows at the same points of the year. The cold-start model was trained across a 90-day term; this simulated
        // year runs to school day 120, so at its end the model serves past every point it learnt at (and 3,000 training
        // students leave a card too few rows at any one week's points): the run says so, and the inputs that grow with the
        // year show the skew.
        var trainingRuns = (await _client.GetFromJsonAsync<JsonElement>("/api/early-warning/v1/monitoring/drift?reference=training")).EnumerateArray()
            .Where(r => dates.Contains(DateOnly.Parse(r.GetProperty("asOf").GetString()!))).OrderBy(r => r.GetProperty("asOf").GetString()).ToArray();
        Assert.True(trainingRuns.Length >= 15, $"{trainingRuns.Length} training runs");
        Assert.All(trainingRuns, r => Assert.StartsWith("school day", r.GetProperty("servedPoints").GetString()));
        var late = trainingRuns[^1];
        Assert.False(late.GetProperty("samePoints").GetBoolean());
        Assert.Equal("school days 1–90", late.GetProperty("referencePoints").GetString());
        Assert.Equal("significant", late.GetProperty("measures").EnumerateArray().Single(m => m.GetProperty("measure").GetString() == "days_enrolled").GetProperty("band").GetString());

        // The drift started a training job; it registers a challenger, not promoted.
        // (A later drift, more than the 7-day cooldown after, may start another; the first is the one checked here.)
        var challenger = await Eventually.WaitAsync(() => _client.GetFromJsonAsync<JsonElement>("/api/early-warning/v1/monitoring/challenger"),
            c => c.GetProperty("jobs").GetArrayLength() > 0 && c.GetProperty("jobs").EnumerateArray().All(j => j.GetProperty("status").GetString() != "running"),
            TimeSpan.FromSeconds(300));
        var job = challenger.GetProperty("jobs").EnumerateArray().MinBy(j => j.GetProperty("startedAt").GetDateTimeOffset());
        Assert.Equal("succeeded", job.GetProperty("status").GetString());
        Assert.Contains("significant score drift", job.GetProperty("reason").GetString());
        Assert.Equal("candidate", challenger.GetProperty("challenger").GetProperty("status").GetString());
        Assert.Equal("active", challenger.GetProperty("champion").GetProperty("status").GetString());

        // Before outcomes: expected figures only.
        var unlabelled = await _client.GetFromJsonAsync<JsonElement>("/api/early-warning/v1/monitoring/report");
        Assert.All(unlabelled.EnumerateArray(), w => Assert.Equal(JsonValueKind.Null, w.GetProperty("realisedFalsePositiveRate").ValueKind));

        // Term's end: the truth for every student, known the day after the last school day.
        var knownOn = LastDay.AddDays(1).ToString("yyyy-MM-dd");
        _clock.Set(new DateTimeOffset(LastDay.AddDays(1).ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero));
        using (var outcomes = await _client.PostAsJsonAsync("/api/early-warning/v1/monitoring/outcomes", new
        {
            outcomes = district.Truth.Outcomes.Select(o => new { studentId = o.StudentId, outcome = o.ChronicallyAbsent ? "chronically-absent" : "term-under-10pct-absence", knownOn }),
        }))
        {
            Assert.Equal(HttpStatusCode.OK, outcomes.StatusCode);
        }
        // Only the district's weeks (the report starts at the first week with scores).
        var report = (await _client.GetFromJsonAsync<JsonElement>("/api/early-warning/v1/monitoring/report")).EnumerateArray()
            .Where(w => DateOnly.Parse(w.GetProperty("weekStart").GetString()!) >= weeks[0].Key).ToArray();
        Assert.Equal(weeks.Length, report.Length);
        Assert.All(report, w => Assert.Equal(300, w.GetProperty("labelled").GetInt32()));
        Assert.Contains(report, w => w.GetProperty("alertsRaised").GetInt32() > 0);
        // The first three weeks (school days 1–15): the model trained across the term flags at its early line, where its
        // threshold alone flagged nobody, and those flags are mostly right.
        var firstWeeks = report.Take(3).ToArray();
        Assert.All(firstWeeks, w => Assert.True(w.GetProperty("flagged").GetInt32() > 0, $"nobody flagged in the week of {w.GetProperty("weekStart").GetString()}"));
        Assert.All(firstWeeks, w => Assert.InRange(w.GetProperty("realisedPrecision").GetDouble(), 0.70, 1.0));

        // Subgroups: every attribute, small groups suppressed, the largest gaps named.
        var fairness = await _client.GetFromJsonAsync<JsonElement>("/api/early-warning/v1/monitoring/fairness");
        var groups = fairness.GetProperty("report").GetProperty("groups").EnumerateArray().ToArray();
        Assert.Equal(["disability", "economically-disadvantaged", "english-learner", "race-ethnicity", "sex"],
            groups.Select(g => g.GetProperty("attribute").GetString()).Distinct().Order());
        Assert.All(groups.Where(g => g.GetProperty("suppressed").GetBoolean()), g => Assert.Equal(JsonValueKind.Null, g.GetProperty("figures").ValueKind));
        Assert.NotEmpty(fairness.GetProperty("report").GetProperty("gaps").EnumerateArray());

        // Charts render as SVG.
        foreach (var chart in MonitoringCharts.Names)
        {
            using var response = await _client.GetAsync($"/api/early-warning/v1/monitoring/charts/{chart}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("image/svg+xml", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("<svg", await response.Content.ReadAsStringAsync());
        }

        Print(baselineRuns, report, fairness, challenger);
    }

    /// <summary>
    /// Other test classes' AttendanceRecorded events reach this host too (shared exchange), and its consumer may
    /// score one of their new students while the batch re-score inserts the same student's first score; the
    /// re-score handles that race itself, so one call must succeed.
    /// </summary>
    private async Task RescoreAsync()
    {
        using var rescore = await _client.PostAsync("/api/early-warning/v1/models/rescore", JsonContent.Create(new { }));
        Assert.True(rescore.StatusCode == HttpStatusCode.OK, $"re-score: HTTP {(int)rescore.StatusCode} {await rescore.Content.ReadAsStringAsync()}");
    }

    private void Print(JsonElement[] drift, JsonElement[] report, JsonElement fairness, JsonElement challenger)
    {
        var text = new StringBuilder();
        text.AppendLine($"Simulated year: 2 schools x 150 students, {SchoolDays} school days ending {LastDay:yyyy-MM-dd}, late arrivals recorded as absences from school day {ShiftFromDay}.");
        text.AppendLine("| as of | score PSI vs baseline | band | alerted | top input |");
        text.AppendLine("|---|---|---|---|---|");
        foreach (var r in drift)
        {
            var top = r.GetProperty("measures")[0];
            text.AppendLine($"| {r.GetProperty("asOf").GetString()} | {r.GetProperty("scorePsi").GetDouble():F3} | {r.GetProperty("scoreBand").GetString()} | "
                + $"{(r.GetProperty("alerted").GetBoolean() ? "yes" : "")} | {top.GetProperty("measure").GetString()} {top.GetProperty("psi").GetDouble():F2} |");
        }
        static string P(JsonElement e, string name) => e.GetProperty(name).ValueKind == JsonValueKind.Null ? "–" : e.GetProperty(name).GetDouble().ToString("P1");
        text.AppendLine();
        text.AppendLine("| version | week | alerts | confirmed | false (outcome) | flagged | realised FPR | expected FPR | realised precision | expected precision | precision@top10% | recall | ECE |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var w in report)
        {
            text.AppendLine($"| v{w.GetProperty("modelVersion").GetInt32()} | {w.GetProperty("weekStart").GetString()} | {w.GetProperty("alertsRaised").GetInt32()} | "
                + $"{w.GetProperty("alertsConfirmed").GetInt32()} | {w.GetProperty("alertsFalseByOutcome").GetInt32()} | {w.GetProperty("flagged").GetInt32()} | "
                + $"{P(w, "realisedFalsePositiveRate")} | {P(w, "expectedFalsePositiveRate")} | {P(w, "realisedPrecision")} | {P(w, "expectedPrecision")} | "
                + $"{P(w, "precisionAtTopK")} | {P(w, "recall")} | {(w.GetProperty("expectedCalibrationError").ValueKind == JsonValueKind.Null ? "–" : w.GetProperty("expectedCalibrationError").GetDouble().ToString("F3"))} |");
        }
        text.AppendLine();
        text.AppendLine($"Subgroups, week {fairness.GetProperty("weekStart").GetString()} (groups under {fairness.GetProperty("report").GetProperty("minimumGroupSize").GetInt32()} labelled students suppressed):");
        foreach (var g in fairness.GetProperty("report").GetProperty("groups").EnumerateArray())
        {
            var f = g.GetProperty("figures");
            text.AppendLine(g.GetProperty("suppressed").GetBoolean()
                ? $"- {g.GetProperty("attribute").GetString()}={g.GetProperty("group").GetString()}: suppressed"
                : $"- {g.GetProperty("attribute").GetString()}={g.GetProperty("group").GetString()}: n {f.GetProperty("students").GetInt32()}, FPR {P(f, "falsePositiveRate")}, recall {P(f, "recall")}, precision {P(f, "precision")}");
        }
        foreach (var gap in fairness.GetProperty("report").GetProperty("gaps").EnumerateArray().Take(4))
        {
            text.AppendLine($"- largest gap: {gap.GetProperty("attribute").GetString()} {gap.GetProperty("measure").GetString()} {gap.GetProperty("gap").GetDouble():P1} "
                + $"({gap.GetProperty("highestGroup").GetString()} {gap.GetProperty("highest").GetDouble():P1} vs {gap.GetProperty("lowestGroup").GetString()} {gap.GetProperty("lowest").GetDouble():P1})");
        }
        text.AppendLine();
        foreach (var side in new[] { "champion", "challenger" })
        {
            var m = challenger.GetProperty(side);
            var held = m.GetProperty("heldOut");
            text.AppendLine($"{side}: v{m.GetProperty("version").GetInt32()} ({m.GetProperty("status").GetString()}) held-out AUC {held.GetProperty("auc").GetDouble():F3}, "
                + $"precision {held.GetProperty("precision").GetDouble():P1}, recall {held.GetProperty("recall").GetDouble():P1}, ECE {held.GetProperty("expectedCalibrationError").GetDouble():F3}");
        }
        text.AppendLine($"retraining job: {challenger.GetProperty("jobs")[0].GetProperty("reason").GetString()}");
        output.WriteLine(text.ToString());
    }
}
