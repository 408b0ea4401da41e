using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.EarlyWarning.Storage;
using Beacon.Testing;

namespace Beacon.EarlyWarning.Tests;

/// <summary>
/// A drift check in a week without school (real RabbitMQ): the training run says nothing was served that week, without an
/// error or an alarm, and the baseline run goes on on its own.
/// </summary>
public sealed class DriftBreakWeekTests : IAsyncLifetime
{
    // Mon 2031-09-01 to Fri 2032-06-11, an autumn break Mon 2031-10-20 to Fri 2031-10-24 (dates no other test class uses, so
    // its figures stay its own even if a test shares this service's bus scope).
    private static readonly DateOnly First = new(2031, 9, 1), BreakStart = new(2031, 10, 20), BreakEnd = new(2031, 10, 24);
    private const int Students = 120;

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
    public async Task A_week_without_school_day_measures_nothing_against_training_and_the_baseline_run_goes_on()
    {
        var client = _service.CreateClient();
        using (var train = await client.PostAsJsonAsync("/api/early-warning/v1/models/train", new { kind = "chronic-absence", students = 2000, seed = 4, promote = true }))
        {
            Assert.Equal(HttpStatusCode.OK, train.StatusCode);
        }
        // Seven weeks of school before the break (35 school days each), written to the projections directly: the event
        // path is AttendanceToAlertTests' business.
        await _service.WithDbAsync<EarlyWarningDbContext, int>(db =>
        {
            db.CalendarYears.Add(new CalendarYearRow
            {
                SchoolYear = "2031-2032",
                FirstDay = First,
                LastDay = new DateOnly(2032, 6, 11),
                NonInstructionalJson = JsonSerializer.Serialize(new[] { new { From = BreakStart, To = BreakEnd } }),
                OccurredAt = DateTimeOffset.UtcNow,
            });
            for (var s = 0; s < Students; s++)
            {
                var id = $"brk-{s:D3}";
                db.RiskStates.Add(new StudentRiskState { StudentId = id, SchoolId = "brk-school" });
                var n = 0;
                for (var day = First; day < BreakStart; day = day.AddDays(1))
                {
                    if (day.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday))
                    {
                        // Every student misses a different share of days (0 to about 20 %).
                        db.AttendanceDays.Add(new AttendanceDay { StudentId = id, Date = day, Status = (n++ * 7 + s) % 40 < s % 9 ? "absent" : "present" });
                    }
                }
            }
            return db.SaveChangesAsync();
        });

        // The Friday before the break: both references are measured (the first check pins the baseline).
        var before = await DriftAsync(client, BreakStart.AddDays(-3));
        var training = Assert.Single(before);
        // (Its student count is the matched sample's: the served week in the training rows' points, not exactly 120.)
        Assert.Equal(("training", JsonValueKind.Null), (training.GetProperty("reference").GetString(), training.GetProperty("note").ValueKind));
        Assert.InRange(training.GetProperty("students").GetInt32(), 100, 2 * Students);
        Assert.NotEmpty(training.GetProperty("measures").EnumerateArray());

        // The Friday of the break: nobody was served. Not a 409 for the whole check, not an alarm: the training run says so,
        // the baseline run compares each student's last school days as usual.
        var during = await DriftAsync(client, BreakEnd);
        Assert.Equal(["training", "baseline"], during.Select(r => r.GetProperty("reference").GetString()));
        var quiet = during[0];
        Assert.Equal((0, "not-measured", false), (quiet.GetProperty("students").GetInt32(), quiet.GetProperty("scoreBand").GetString(), quiet.GetProperty("alerted").GetBoolean()));
        Assert.StartsWith("Nothing was served in the week to 2031-10-24", quiet.GetProperty("note").GetString());
        Assert.Empty(quiet.GetProperty("measures").EnumerateArray());
        var baseline = during[1];
        Assert.Equal(JsonValueKind.Null, baseline.GetProperty("note").ValueKind);
        Assert.InRange(baseline.GetProperty("students").GetInt32(), Students, 2 * Students);
        Assert.Equal(14, baseline.GetProperty("measures").GetArrayLength());

        // The history keeps the note; the chart leaves the unmeasured run out and still draws.
        var history = await client.GetFromJsonAsync<JsonElement>("/api/early-warning/v1/monitoring/drift?reference=training");
        Assert.Contains(history.EnumerateArray(), r => r.GetProperty("asOf").GetString() == "2031-10-24" && r.GetProperty("note").GetString()!.StartsWith("Nothing was served", StringComparison.Ordinal));
        using var chart = await client.GetAsync("/api/early-warning/v1/monitoring/charts/drift.svg");
        Assert.Equal(HttpStatusCode.OK, chart.StatusCode);
    }

    private static async Task<JsonElement[]> DriftAsync(HttpClient client, DateOnly asOf)
    {
        using var run = await client.PostAsJsonAsync("/api/early-warning/v1/monitoring/drift/run", new { asOf = asOf.ToString("yyyy-MM-dd") });
        var body = await run.Content.ReadAsStringAsync();
        Assert.True(run.StatusCode == HttpStatusCode.OK, $"drift/run as of {asOf}: HTTP {(int)run.StatusCode} {body}");
        return [.. JsonDocument.Parse(body).RootElement.EnumerateArray().Select(e => e.Clone())];
    }
}
