using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Xml.Linq;
using Beacon.EarlyWarning.Storage;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;
using Xunit.Abstractions;
using Simulated = Beacon.Simulator;

namespace Beacon.EarlyWarning.Tests;

/// <summary>
/// The monitoring backfill (real RabbitMQ and database): the drift check as of each past school day of a simulated term with a
/// recording change planted mid-term, computed after the fact from data that runs past every day checked. Only days from the
/// change on may drift against the baseline (a run that read later data would drift before it), a second backfill adds
/// nothing, a day already checked is kept, and the runs, weeks and audit rows say they were backfilled.
/// </summary>
public sealed class MonitoringBackfillTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Backfill = "/api/early-warning/v1/monitoring/backfill";
    private const int SchoolDays = 90;
    private const int ShiftFromDay = 45;   // school day 45: from then on a late arrival is recorded as an absence
    // A Friday in the past no other test class uses, so its figures stay its own.
    private static readonly DateOnly LastDay = new(2025, 6, 13);

    private readonly ServiceFactory<Program> _service = new()
    {
        Settings =
        {
            ["EarlyWarning:Models:Trees"] = "40",
            ["EarlyWarning:Monitoring:Enabled"] = "false",
            ["EarlyWarning:Scoring:Enabled"] = "false",
            ["EarlyWarning:Monitoring:MinimumStudents"] = "100",
            ["EarlyWarning:Monitoring:RetrainOnDrift"] = "false",
        },
    };

    public Task InitializeAsync() => _service.WaitUntilReadyAsync();

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Fact]
    public async Task A_term_is_backfilled_day_by_day_without_look_ahead_idempotently_and_marked()
    {
        var client = _service.CreateClient();
        using (var train = await client.PostAsJsonAsync("/api/early-warning/v1/models/train", new { kind = "chronic-absence", students = 2000, seed = 4, promote = true }))
        {
            Assert.Equal(HttpStatusCode.OK, train.StatusCode);
        }
        // 300 students over 90 school days, written to the projections directly (the event path is AttendanceToAlertTests' business).
        var district = Simulated.DistrictGenerator.Generate(new Simulated.SimulationOptions(11, Schools: 2, StudentsPerSchool: 150, SchoolDays: SchoolDays,
            LastDay: LastDay, ItemsPerDay: 0, ShiftFromDay: ShiftFromDay, StudentPrefix: "bf"));
        var days = district.Attendance.Select(a => a.Date).Distinct().Order().ToArray();
        Assert.Equal(SchoolDays, days.Length);
        await _service.WithDbAsync<EarlyWarningDbContext, int>(db =>
        {
            db.RiskStates.AddRange(district.Students.Select(s => new StudentRiskState { StudentId = s.StudentId, SchoolId = s.SchoolId }));
            db.AttendanceDays.AddRange(district.Attendance.Select(a => new AttendanceDay { StudentId = a.StudentId, Date = a.Date, Status = a.Status }));
            return db.SaveChangesAsync();
        });

        // The first 60 school days: days 1–29 refused (fewer than 100 students have 30 school days), days 30–60 measured; the
        // first measured day pins the baseline, as the daily job's first check would have.
        var first = await BackfillAsync(client, new { kind = "chronic-absence", from = Day(days, 1), to = Day(days, 60) });
        Assert.Equal((60, 31, 0, 29), (first.GetProperty("schoolDays").GetInt32(), first.GetProperty("daysBackfilled").GetInt32(),
            first.GetProperty("daysKept").GetInt32(), first.GetProperty("daysRefused").GetArrayLength()));
        Assert.Equal(31 + 30, first.GetProperty("runs").GetInt32());   // training each day, baseline from the day after it was pinned
        Assert.Equal("test-admin", first.GetProperty("requestedBy").GetString());

        // Today's check of a later day (on demand), then the whole term: the checked day is kept as it was, days 61–90 are added.
        using (var onDemand = await client.PostAsJsonAsync("/api/early-warning/v1/monitoring/drift/run", new { asOf = Day(days, 70) }))
        {
            Assert.Equal(HttpStatusCode.OK, onDemand.StatusCode);
        }
        var whole = await BackfillAsync(client, new { kind = "chronic-absence", from = Day(days, 1), to = Day(days, SchoolDays) });
        Assert.Equal((SchoolDays, 29, 32, 29), (whole.GetProperty("schoolDays").GetInt32(), whole.GetProperty("daysBackfilled").GetInt32(),
            whole.GetProperty("daysKept").GetInt32(), whole.GetProperty("daysRefused").GetArrayLength()));
        // Again: nothing new (the refused days are refused again, they have nothing to keep).
        var again = await BackfillAsync(client, new { kind = "chronic-absence" });
        Assert.Equal((0, 0, 0), (again.GetProperty("daysBackfilled").GetInt32(), again.GetProperty("runs").GetInt32(), again.GetProperty("weeksBackfilled").GetInt32()));
        Assert.Equal(SchoolDays - 29, again.GetProperty("daysKept").GetInt32());

        var history = (await client.GetFromJsonAsync<JsonElement>("/api/early-warning/v1/monitoring/drift?kind=chronic-absence")).EnumerateArray().ToArray();
        var training = history.Where(r => r.GetProperty("reference").GetString() == "training").ToArray();
        var baseline = history.Where(r => r.GetProperty("reference").GetString() == "baseline").ToArray();
        Assert.Equal(SchoolDays - 29, training.Length);   // one run per measured school day, none twice
        Assert.Equal(SchoolDays - 29, training.Select(r => r.GetProperty("asOf").GetString()).Distinct().Count());
        Assert.Equal(SchoolDays - 30, baseline.Length);
        Assert.All(history, r => Assert.Equal(r.GetProperty("asOf").GetString() != Day(days, 70), r.GetProperty("backfilled").GetBoolean()));
        Assert.All(history.Where(r => r.GetProperty("backfilled").GetBoolean()), r =>
        {
            Assert.Equal("backfill", r.GetProperty("trigger").GetString());
            Assert.False(r.GetProperty("alerted").GetBoolean());   // history, not news: no alarm
        });

        // No look-ahead: before the planted change nothing drifts against the baseline; after it, it does (within the window's length).
        var byDay = baseline.ToDictionary(r => Array.IndexOf(days, DateOnly.Parse(r.GetProperty("asOf").GetString()!)) + 1);
        foreach (var (day, run) in byDay.OrderBy(d => d.Key))
        {
            output.WriteLine($"school day {day,2}: score PSI against the baseline {run.GetProperty("scorePsi").GetDouble():F3} ({run.GetProperty("scoreBand").GetString()})");
        }
        var significant = byDay.Where(d => d.Value.GetProperty("scoreBand").GetString() == "significant").Select(d => d.Key).Order().ToArray();
        Assert.NotEmpty(significant);
        Assert.True(significant[0] > ShiftFromDay, $"drift as of school day {significant[0]}, before the change on day {ShiftFromDay}: a run read later data");
        Assert.True(significant[0] <= ShiftFromDay + 30, $"the change on day {ShiftFromDay} drifted only from day {significant[0]}");
        Assert.All(byDay.Where(d => d.Key < ShiftFromDay), d => Assert.NotEqual("significant", d.Value.GetProperty("scoreBand").GetString()));

        // The weekly report has the term's weeks (scored as of each week's last school day), marked; the charts draw them.
        var weeks = (await client.GetFromJsonAsync<JsonElement>("/api/early-warning/v1/monitoring/report?kind=chronic-absence")).EnumerateArray().ToArray();
        Assert.Equal(18, weeks.Length);
        Assert.All(weeks, w => Assert.True(w.GetProperty("backfilled").GetBoolean()));
        Assert.All(weeks, w => Assert.Equal(district.Students.Count, w.GetProperty("students").GetInt32()));
        var snapshots = await _service.WithDbAsync<EarlyWarningDbContext, int>(db => db.ScoreSnapshots.CountAsync(s => s.Backfilled));
        Assert.Equal(18 * district.Students.Count, snapshots);
        using (var chart = await client.GetAsync("/api/early-warning/v1/monitoring/charts/drift.svg"))
        {
            Assert.Equal(HttpStatusCode.OK, chart.StatusCode);
        }
        // The baseline's chart on its own value axis (the training reference's skew reaches several units): it fits the
        // baseline's checks, from 0 through the significant band, over the term's dates.
        var texts = XDocument.Parse(await client.GetStringAsync("/api/early-warning/v1/monitoring/charts/drift.svg?reference=baseline")).Descendants()
            .Where(e => e.Name.LocalName == "text").Select(e => e.Value.Trim()).Where(t => t.Length > 0).ToArray();
        Assert.Contains(texts, t => t.EndsWith("score drift (PSI) over time against the baseline", StringComparison.Ordinal));
        var ticks = texts.Select(t => double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : (double?)null).OfType<double>().ToArray();
        var highest = baseline.Max(r => r.GetProperty("scorePsi").GetDouble());
        Assert.InRange(ticks.Max(), 0.25, Math.Max(0.35, highest * 1.1));
        var dates = texts.Select(t => DateOnly.TryParseExact(t, "yyyy-MM-dd", out var d) ? d : (DateOnly?)null).OfType<DateOnly>().ToArray();
        Assert.True(dates.Max().DayNumber - dates.Min().DayNumber >= 28, $"date ticks {string.Join(", ", dates)} do not span the term");

        // The audit: every backfill, newest first, who asked and what it wrote.
        var audit = (await client.GetFromJsonAsync<JsonElement>("/api/early-warning/v1/monitoring/backfills?kind=chronic-absence")).EnumerateArray().ToArray();
        Assert.Equal([0, 29, 31], audit.Select(a => a.GetProperty("daysBackfilled").GetInt32()));
        Assert.All(audit, a => Assert.Equal(("test-admin", "api"), (a.GetProperty("requestedBy").GetString(), a.GetProperty("trigger").GetString())));
        Assert.Equal(29, audit[^1].GetProperty("daysRefused").GetArrayLength());
    }

    [Fact]
    public async Task Bad_ranges_are_400s_naming_the_field_a_counselor_is_403_and_no_model_409()
    {
        var client = _service.CreateClient();
        var today = DateOnly.FromDateTime(DateTime.Now);
        async Task Refused(object body, string field)
        {
            using var response = await client.PostAsJsonAsync(Backfill, body);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{JsonSerializer.Serialize(body)}: {(int)response.StatusCode} {text}");
            Assert.True(JsonDocument.Parse(text).RootElement.GetProperty("errors").TryGetProperty(field, out _), $"{JsonSerializer.Serialize(body)}: no error on '{field}': {text}");
        }
        await Refused(new { from = "2026-13-01" }, "from");
        await Refused(new { to = "yesterday" }, "to");
        await Refused(new { from = "2026-03-10", to = "2026-03-01" }, "from");
        await Refused(new { from = "2024-01-01", to = "2025-06-30" }, "from");                      // more than 366 days
        await Refused(new { from = today.AddDays(-3).ToString("yyyy-MM-dd"), to = today.ToString("yyyy-MM-dd") }, "to");   // today is not over
        await Refused(new { kind = "oulad-dropout" }, "kind");
        using (var chart = await client.GetAsync("/api/early-warning/v1/monitoring/charts/drift.svg?reference=both"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, chart.StatusCode);
            Assert.True((await chart.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("reference", out _));
        }

        using var counselor = _service.CreateClientAs(TestTokens.Counselor("bf-counselor", "north"));
        using (var forbidden = await counselor.PostAsJsonAsync(Backfill, new { kind = "chronic-absence" }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        }
        using (var none = await client.PostAsJsonAsync(Backfill, new { kind = "dropout" }))
        {
            Assert.Equal(HttpStatusCode.Conflict, none.StatusCode);
            Assert.Contains("No active 'dropout' model", (await none.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
        }
        Assert.Equal(0, await _service.WithDbAsync<EarlyWarningDbContext, int>(db => db.MonitoringBackfills.CountAsync()));
    }

    private static string Day(DateOnly[] days, int schoolDay) => days[schoolDay - 1].ToString("yyyy-MM-dd");

    private static async Task<JsonElement> BackfillAsync(HttpClient client, object body)
    {
        using var response = await client.PostAsJsonAsync(Backfill, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"backfill {JsonSerializer.Serialize(body)}: HTTP {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
