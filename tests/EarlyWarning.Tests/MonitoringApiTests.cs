using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Storage;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.EarlyWarning.Tests;

/// <summary>Outcome labels, counselor feedback and closed-as-false-alarm cases (real RabbitMQ); bad input is a 400 naming the field.</summary>
public sealed class MonitoringApiTests : IAsyncLifetime
{
    private readonly ServiceFactory<Program> _service = new() { Settings = { ["EarlyWarning:Monitoring:Enabled"] = "false" } };
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        await _service.WaitUntilReadyAsync();
        _client = _service.CreateClient();
    }

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private async Task<RiskAlert> AlertAsync()
    {
        var alert = new RiskAlert
        {
            AlertId = NewId.NextGuid(),
            StudentId = $"stu-{Guid.NewGuid():N}",
            SchoolId = "north",
            Kind = "chronic-absence-model",
            Crossing = 1,
            Reason = "test",
            Score = 0.6,
            RaisedAt = DateTimeOffset.UtcNow,
            ModelVersion = 1,
        };
        await _service.WithDbAsync<EarlyWarningDbContext, int>(db =>
        {
            db.Alerts.Add(alert);
            return db.SaveChangesAsync();
        });
        return alert;
    }

    [Fact]
    public async Task A_counselor_marks_an_alert_a_false_alarm_and_ops_see_it_apart_from_outcomes()
    {
        var alert = await AlertAsync();
        using (var response = await _client.PostAsJsonAsync($"/api/early-warning/v1/alerts/{alert.AlertId}/feedback",
            new { verdict = "false-alarm", reason = "Absences were a family trip, approved.", givenBy = "c-north-1" }))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        // Marking it again updates, it does not count twice.
        using (var again = await _client.PostAsJsonAsync($"/api/early-warning/v1/alerts/{alert.AlertId}/feedback",
            new { verdict = "not-at-risk", reason = "Back every day since.", givenBy = "c-north-1" }))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }
        var feedback = (await _client.GetFromJsonAsync<JsonElement>("/api/early-warning/v1/monitoring/feedback")).EnumerateArray()
            .Where(f => f.GetProperty("alertId").GetGuid() == alert.AlertId).ToArray();
        var only = Assert.Single(feedback);
        Assert.Equal("not-at-risk", only.GetProperty("verdict").GetString());
        Assert.Equal("counselor", only.GetProperty("source").GetString());
        Assert.False(only.TryGetProperty("studentId", out _));   // ops see no names
        Assert.Equal(0, await _service.WithDbAsync<EarlyWarningDbContext, int>(db => db.Outcomes.CountAsync(o => o.StudentId == alert.StudentId)));
    }

    [Fact]
    public async Task Feedback_with_bad_fields_is_a_400_and_an_unknown_alert_a_404()
    {
        var alert = await AlertAsync();
        using var bad = await _client.PostAsJsonAsync($"/api/early-warning/v1/alerts/{alert.AlertId}/feedback", new { verdict = "maybe", reason = "", givenBy = "c-1" });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var errors = (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("verdict", out _));
        Assert.True(errors.TryGetProperty("reason", out _));
        using var missing = await _client.PostAsJsonAsync($"/api/early-warning/v1/alerts/{Guid.NewGuid()}/feedback", new { verdict = "false-alarm", reason = "x", givenBy = "c-1" });
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    // A body the minimal API cannot bind was an empty 400 outside Development; AddDefaultProblemHandlers makes it
    // a problem that says where the JSON broke.
    [Fact]
    public async Task Malformed_feedback_json_is_a_400_problem_naming_where()
    {
        var alert = await AlertAsync();
        using var broken = await _client.PostAsync($"/api/early-warning/v1/alerts/{alert.AlertId}/feedback",
            new StringContent("{\"verdict\": \"false-alarm\", \"reason\": 5}", System.Text.Encoding.UTF8, "application/json"));
        var text = await broken.Content.ReadAsStringAsync();
        Assert.True(broken.StatusCode == HttpStatusCode.BadRequest, $"{(int)broken.StatusCode} {text}");
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal("Unreadable request body; nothing was stored", problem.GetProperty("title").GetString());
        Assert.Contains("$.reason", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_case_closed_as_false_alarm_counts_as_feedback_on_its_alerts()
    {
        var alert = await AlertAsync();
        var caseId = Guid.NewGuid();
        var outcome = new InterventionOutcomeRecorded(caseId, alert.StudentId, "north", [alert.AlertId], "closed", InterventionOutcomes.FalseAlarm, null, DateTimeOffset.UtcNow);
        var bus = _service.Services.GetRequiredService<IBus>();
        await bus.Publish(outcome);
        await bus.Publish(outcome);   // redelivered: still one row
        await bus.Publish(outcome with { CaseId = Guid.NewGuid(), Outcome = "improved" });   // not a false alarm: ignored
        var rows = await Eventually.WaitAsync(
            () => _service.WithDbAsync<EarlyWarningDbContext, List<AlertFeedback>>(db => db.Feedback.Where(f => f.AlertId == alert.AlertId).ToListAsync()),
            r => r.Count > 0, TimeSpan.FromSeconds(60));
        await Task.Delay(1000);
        rows = await _service.WithDbAsync<EarlyWarningDbContext, List<AlertFeedback>>(db => db.Feedback.Where(f => f.AlertId == alert.AlertId).ToListAsync());
        var row = Assert.Single(rows);
        Assert.Equal(("intervention-case", "false-alarm", $"case:{caseId}"), (row.Source, row.Verdict, row.GivenBy));
    }

    [Fact]
    public async Task Outcomes_with_a_bad_row_are_refused_whole_naming_row_and_field()
    {
        using var bad = await _client.PostAsJsonAsync("/api/early-warning/v1/monitoring/outcomes", new
        {
            outcomes = new object[]
            {
                new { studentId = "stu-ok", outcome = "chronically-absent", knownOn = "2026-06-30" },
                new { studentId = "stu-2", outcome = "withdrew", knownOn = "2026-06-30" },
                new { studentId = "", kind = "dropout", outcome = "withdrew", knownOn = "30/06/2026" },
            },
        });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var errors = (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("outcomes[1].outcome", out _));   // 'withdrew' is a dropout outcome, not chronic absence
        Assert.True(errors.TryGetProperty("outcomes[2].studentId", out _));
        Assert.True(errors.TryGetProperty("outcomes[2].knownOn", out _));
        Assert.Equal(0, await _service.WithDbAsync<EarlyWarningDbContext, int>(db => db.Outcomes.CountAsync()));

        using var good = await _client.PostAsJsonAsync("/api/early-warning/v1/monitoring/outcomes", new
        {
            outcomes = new[] { new { studentId = "stu-ok", kind = "dropout", outcome = "finished-year", knownOn = "2026-06-30" } },
        });
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        var label = await _service.WithDbAsync<EarlyWarningDbContext, OutcomeLabel?>(db => db.Outcomes.FirstOrDefaultAsync(o => o.StudentId == "stu-ok"));
        Assert.False(label!.AtRisk);
    }

    [Fact]
    public async Task Drift_without_an_active_model_is_a_409_with_the_reason_and_bad_dates_a_400()
    {
        using var none = await _client.PostAsJsonAsync("/api/early-warning/v1/monitoring/drift/run", new { asOf = "2026-10-01" });
        Assert.Equal(HttpStatusCode.Conflict, none.StatusCode);
        Assert.Contains("No active", (await none.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
        using var badDate = await _client.PostAsJsonAsync("/api/early-warning/v1/monitoring/drift/run", new { asOf = "yesterday" });
        Assert.Equal(HttpStatusCode.BadRequest, badDate.StatusCode);
        using var chart = await _client.GetAsync("/api/early-warning/v1/monitoring/charts/pie.svg");
        Assert.Equal(HttpStatusCode.NotFound, chart.StatusCode);
    }

    [Fact]
    public async Task Calibration_is_the_reliability_table_of_the_active_versions_labelled_students_and_empty_before_labels()
    {
        var empty = await _client.GetFromJsonAsync<JsonElement>("/api/early-warning/v1/monitoring/calibration");
        Assert.Equal(0, empty.GetProperty("students").GetInt32());
        Assert.Equal(0, empty.GetProperty("bins").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, empty.GetProperty("expectedCalibrationError").ValueKind);

        var known = new DateOnly(2026, 9, 20);
        ScoreSnapshot Week(string student, int version, DateOnly week, double score) => new()
        {
            StudentId = student,
            Kind = "chronic-absence",
            WeekStart = week,
            SchoolId = "north",
            ModelVersion = version,
            Score = score,
            Flagged = score >= 0.5,
            Threshold = 0.5,
            ScoredAt = DateTimeOffset.UtcNow,
        };
        OutcomeLabel Label(string student, bool atRisk) => new()
        {
            StudentId = student,
            Kind = "chronic-absence",
            Outcome = atRisk ? "chronically-absent" : "term-under-10pct-absence",
            AtRisk = atRisk,
            KnownOn = known,
            RecordedAt = DateTimeOffset.UtcNow,
        };
        await _service.WithDbAsync<EarlyWarningDbContext, int>(db =>
        {
            db.Models.Add(new ModelVersionRecord
            {
                ModelId = Guid.NewGuid(),
                Kind = "chronic-absence",
                Version = 7,
                Algorithm = "FastTree",
                Status = "active",
                Threshold = 0.5,
                DataSource = "test",
                FileName = "none.zip",
                CardJson = "{}",
                TrainedAt = DateTimeOffset.UtcNow,
            });
            db.ScoreSnapshots.AddRange(
                Week("cal-a", 7, new(2026, 9, 7), 0.15), Week("cal-a", 7, new(2026, 9, 14), 0.85),   // the last week before the outcome counts: 0.85
                Week("cal-b", 7, new(2026, 9, 14), 0.85),
                Week("cal-c", 7, new(2026, 9, 14), 0.12), Week("cal-c", 7, new(2026, 10, 5), 0.9),   // scored after the outcome was known: left out
                Week("cal-d", 6, new(2026, 9, 14), 0.5),    // another version
                Week("cal-e", 7, new(2026, 9, 14), 0.3));   // no label
            db.Outcomes.AddRange(Label("cal-a", true), Label("cal-b", false), Label("cal-c", false), Label("cal-d", true));
            return db.SaveChangesAsync();
        });

        var view = await _client.GetFromJsonAsync<JsonElement>("/api/early-warning/v1/monitoring/calibration");
        Assert.Equal(7, view.GetProperty("modelVersion").GetInt32());
        Assert.Equal(3, view.GetProperty("students").GetInt32());
        var bins = view.GetProperty("bins").EnumerateArray().Where(b => b.GetProperty("count").GetInt32() > 0)
            .Select(b => (b.GetProperty("low").GetDouble(), b.GetProperty("count").GetInt32(), b.GetProperty("meanPredicted").GetDouble(), b.GetProperty("observedRate").GetDouble()))
            .ToArray();
        Assert.Equal(2, bins.Length);
        Assert.Equal((0.1, 1, 0.12, 0.0), (Math.Round(bins[0].Item1, 2), bins[0].Item2, Math.Round(bins[0].Item3, 4), bins[0].Item4));
        Assert.Equal((0.8, 2, 0.85, 0.5), (Math.Round(bins[1].Item1, 2), bins[1].Item2, Math.Round(bins[1].Item3, 4), bins[1].Item4));
        // (2 × |0.85 − 0.5| + 1 × |0.12 − 0|) / 3
        Assert.Equal(0.27333, view.GetProperty("expectedCalibrationError").GetDouble(), 4);
    }

    [Fact]
    public async Task Monitoring_is_for_ops_and_feedback_for_staff_of_the_alerts_school()
    {
        using var ops = _service.CreateClientAs(TestTokens.Ops());
        using var counselor = _service.CreateClientAs(TestTokens.Counselor("c-north-1", "north"));
        using var otherSchool = _service.CreateClientAs(TestTokens.Counselor("c-south-1", "south"));
        using var anonymous = _service.CreateClientAs(null);

        Assert.Equal(HttpStatusCode.OK, (await ops.GetAsync("/api/early-warning/v1/monitoring/report")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await counselor.GetAsync("/api/early-warning/v1/monitoring/report")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/early-warning/v1/monitoring/drift")).StatusCode);

        var alert = await AlertAsync();   // school north
        var body = new { verdict = "false-alarm", reason = "Known family situation, already supported." };
        Assert.Equal(HttpStatusCode.Forbidden, (await ops.PostAsJsonAsync($"/api/early-warning/v1/alerts/{alert.AlertId}/feedback", body)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await otherSchool.PostAsJsonAsync($"/api/early-warning/v1/alerts/{alert.AlertId}/feedback", body)).StatusCode);
        using var own = await counselor.PostAsJsonAsync($"/api/early-warning/v1/alerts/{alert.AlertId}/feedback", body);
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        // Who gave it comes from the token, not from the body.
        Assert.Equal("c-north-1", (await own.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("givenBy").GetString());
    }
}
