using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.EarlyWarning.Tests;

/// <summary>
/// The model registry over REST (JSON transcoding) and event-driven scoring against the real RabbitMQ:
/// train + promote a small chronic-absence model, publish attendance, see the score stored with its
/// version and its change on the bus (RiskScoresChanged).
/// </summary>
public sealed class RiskScoringTests : IAsyncLifetime
{
    // Few trees: these tests are about the plumbing; model quality is TrainingTests' business.
    private readonly ServiceFactory<Program> _service = new() { Settings = { ["EarlyWarning:Models:Trees"] = "40" } };
    private readonly ConcurrentBag<RiskScoreChanged> _scores = [];
    private HttpClient _client = null!;
    private HostReceiveEndpointHandle? _observer;

    public async Task InitializeAsync()
    {
        await _service.WaitUntilReadyAsync();
        _client = _service.CreateClient();
        var bus = _service.Services.GetRequiredService<IBus>();
        _observer = await bus.ObserveAsync<RiskScoresChanged>(ctx =>
        {
            foreach (var change in ctx.Message.Records)
            {
                _scores.Add(change);
            }
        });
    }

    public async Task DisposeAsync()
    {
        if (_observer is not null)
        {
            await _observer.StopAsync();
        }
        await _service.DisposeAsync();
    }

    private async Task<JsonElement> TrainAsync(bool promote, int seed)
    {
        using var response = await _client.PostAsJsonAsync("/api/early-warning/v1/models/train",
            new { kind = "chronic-absence", students = 1500, seed, promote });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task Attendance_after_a_promotion_is_scored_with_that_version_explained_and_published()
    {
        var model = await TrainAsync(promote: true, seed: 5);
        Assert.Equal("active", model.GetProperty("status").GetString());
        Assert.Equal(1, model.GetProperty("version").GetInt32());
        var metrics = model.GetProperty("metrics").EnumerateArray().ToArray();
        Assert.Equal(4, metrics.Length);   // three models and the rule baseline, held-out
        Assert.Contains(metrics, m => m.GetProperty("scorer").GetString() == "Rule baseline");

        // A student sliding into absence: 10 present days, then absences.
        var student = $"stu-{Guid.NewGuid():N}";
        var bus = _service.Services.GetRequiredService<IBus>();
        var day = new DateOnly(2026, 9, 7);
        foreach (var (status, i) in "PPPPPPPPPPAPAAPAAA".Select((c, i) => (c == 'A' ? "absent" : "present", i)))
        {
            await bus.Publish(new AttendanceRecorded(student, "school-m", day.AddDays(i / 5 * 7 + i % 5), status, false, DateTimeOffset.UtcNow));
        }
        var stored = await Eventually.WaitAsync(
            () => _service.WithDbAsync<EarlyWarningDbContext, StudentRiskScore?>(db => db.RiskScores.AsNoTracking().FirstOrDefaultAsync(s => s.StudentId == student)),
            s => s is not null && s.ScoredAt != default && _scores.Count(e => e.StudentId == student) > 0 && s.Flagged, TimeSpan.FromSeconds(30));
        Assert.NotNull(stored);
        Assert.Equal(1, stored!.ModelVersion);
        Assert.True(stored.Flagged, $"score {stored.Score:F3} vs threshold {stored.Threshold:F3}");
        Assert.Contains(_scores, e => e.StudentId == student && e.ModelVersion == 1 && e.Kind == "chronic-absence");

        using var risk = await _client.GetAsync($"/api/early-warning/v1/students/{student}/risk");
        Assert.Equal(HttpStatusCode.OK, risk.StatusCode);
        var body = await risk.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(body.GetProperty("flagged").GetBoolean());
        Assert.Equal(RiskBands.For(body.GetProperty("score").GetDouble(), body.GetProperty("threshold").GetDouble()), body.GetProperty("band").GetString());
        Assert.Equal(model.GetProperty("modelId").GetString(), body.GetProperty("modelId").GetString());
        Assert.Contains("Estimated", body.GetProperty("explanation").GetString());
        Assert.NotEmpty(body.GetProperty("factors").EnumerateArray());

        // The model's alert is one per crossing, with its own kind; the indicator's own alert is still raised once.
        var alerts = await Eventually.WaitAsync(
            () => _service.WithDbAsync<EarlyWarningDbContext, List<RiskAlert>>(db => db.Alerts.Where(a => a.StudentId == student).ToListAsync()),
            a => a.Count == 2, TimeSpan.FromSeconds(60));
        Assert.Single(alerts, a => a.Kind == RiskScoring.AlertKind("chronic-absence"));
        Assert.Single(alerts, a => a.Kind == "chronic-absence");
    }

    [Fact]
    public async Task Registry_lists_promotes_and_rolls_back_and_refuses_bad_requests_clearly()
    {
        // Before any model: attendance is projected, nobody is scored, and rescoring is refused clearly.
        var student = $"stu-{Guid.NewGuid():N}";
        var bus = _service.Services.GetRequiredService<IBus>();
        for (var i = 0; i < 12; i++)
        {
            await bus.Publish(new AttendanceRecorded(student, "school-r", new DateOnly(2026, 9, 7).AddDays(i / 5 * 7 + i % 5), i % 4 == 0 ? "absent" : "present", false, DateTimeOffset.UtcNow));
        }
        await Eventually.WaitAsync(
            () => _service.WithDbAsync<EarlyWarningDbContext, int?>(async db => (await db.RiskStates.FindAsync(student))?.DaysEnrolled),
            n => n == 12, TimeSpan.FromSeconds(60));
        Assert.False(await _service.WithDbAsync<EarlyWarningDbContext, bool>(db => db.RiskScores.AnyAsync(s => s.StudentId == student)));
        using (var early = await _client.PostAsJsonAsync("/api/early-warning/v1/models/rescore", new { kind = "chronic-absence" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, early.StatusCode);
        }

        var first = await TrainAsync(promote: true, seed: 1);
        using (var rescore = await _client.PostAsJsonAsync("/api/early-warning/v1/models/rescore", new { kind = "chronic-absence" }))
        {
            Assert.Equal(HttpStatusCode.OK, rescore.StatusCode);
            // At least ours: tests running alongside publish attendance to the same exchange.
            Assert.True((await rescore.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("studentsScored").GetInt32() >= 1);
        }
        var scored = await _service.WithDbAsync<EarlyWarningDbContext, StudentRiskScore?>(db => db.RiskScores.AsNoTracking().FirstOrDefaultAsync(s => s.StudentId == student));
        Assert.Equal(1, scored?.ModelVersion);

        var second = await TrainAsync(promote: false, seed: 2);
        Assert.Equal("candidate", second.GetProperty("status").GetString());

        using (var promote = await _client.PostAsJsonAsync($"/api/early-warning/v1/models/{second.GetProperty("modelId").GetString()}/promote", new { }))
        {
            Assert.Equal(HttpStatusCode.OK, promote.StatusCode);
        }
        var list = await _client.GetFromJsonAsync<JsonElement>("/api/early-warning/v1/models?kind=chronic-absence");
        var statuses = list.GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("version").GetInt32(), m => m.GetProperty("status").GetString());
        Assert.Equal("active", statuses[2]);
        Assert.Equal("retired", statuses[1]);

        using (var rollback = await _client.PostAsJsonAsync("/api/early-warning/v1/models/rollback", new { kind = "chronic-absence" }))
        {
            Assert.Equal(HttpStatusCode.OK, rollback.StatusCode);
            var active = await rollback.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(first.GetProperty("modelId").GetString(), active.GetProperty("modelId").GetString());
        }
        // Nothing earlier than v1 to go back to: a clear refusal, not a 500.
        using (var again = await _client.PostAsJsonAsync("/api/early-warning/v1/models/rollback", new { kind = "chronic-absence" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        }
        using (var badKind = await _client.PostAsJsonAsync("/api/early-warning/v1/models/train", new { kind = "astrology" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, badKind.StatusCode);
            Assert.Contains("astrology", await badKind.Content.ReadAsStringAsync());
        }
        using (var badId = await _client.PostAsJsonAsync("/api/early-warning/v1/models/not-a-guid/promote", new { }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, badId.StatusCode);
        }
        using (var unknown = await _client.GetAsync($"/api/early-warning/v1/models/{Guid.NewGuid()}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }
        using (var noScore = await _client.GetAsync("/api/early-warning/v1/students/nobody/risk"))
        {
            Assert.Equal(HttpStatusCode.NotFound, noScore.StatusCode);
        }
    }
}
