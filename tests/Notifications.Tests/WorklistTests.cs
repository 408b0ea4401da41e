extern alias Ingestion;

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.Notifications.Storage;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using IngestionProgram = Ingestion::Program;

namespace Beacon.Notifications.Tests;

/// <summary>
/// The counselor's worklist with a real Ingestion answering the roster (counselors, the student's name) on the real
/// RabbitMQ: one entry per student across alert kinds, a notification only when something materially changes.
/// </summary>
public sealed class WorklistTests : IAsyncLifetime
{
    private readonly ServiceFactory<IngestionProgram> _ingestion = new();
    private ServiceFactory<Program> _notifications = null!;
    private HttpClient _client = null!;
    private readonly string _school = $"sch-{Guid.NewGuid():N}"[..12];

    public async Task InitializeAsync()
    {
        _notifications = new ServiceFactory<Program> { BusScope = _ingestion.BusScope, ClientHandlers = { ["RosterClient"] = () => _ingestion.Server.CreateHandler() } };
        await _ingestion.WaitUntilReadyAsync();
        await _notifications.WaitUntilReadyAsync();
        _client = _notifications.CreateClient();
        using var ingestion = _ingestion.CreateClient();
        using var roster = await ingestion.PostAsJsonAsync("/api/ingestion/v1/roster", new
        {
            schools = new[] { new { schoolId = _school, name = "Test school" } },
            staff = new[] { new { staffId = $"{_school}-c1", schoolId = _school, role = "counselor", givenName = "Ada", familyName = "One", email = "" } },
            students = new[]
            {
                new { studentId = $"{_school}-s1", schoolId = _school, givenName = "Dana", familyName = "Four", gradeLevel = "9" },
                new { studentId = $"{_school}-s2", schoolId = _school, givenName = "Eli", familyName = "Five", gradeLevel = "10" },
            },
        });
        roster.EnsureSuccessStatusCode();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _notifications.DisposeAsync();
        await _ingestion.DisposeAsync();
    }

    private string Counselor => $"{_school}-c1";

    private RiskAlertRaised Alert(string student, string kind, double score, string reason = "Missed 3 of 20 school days so far (15 %).") =>
        new(NewId.NextGuid(), $"{_school}-{student}", _school, kind, reason, score, DateTimeOffset.UtcNow);

    private async Task ApplyAsync(RiskAlertRaised alert)
    {
        await _notifications.Services.GetRequiredService<IBus>().Publish(alert);
        // Applied once the entry carries the alert's id (every reason keeps the ids it has seen).
        Assert.True(await Eventually.WaitAsync(
            () => _notifications.WithDbAsync<NotificationsDbContext, bool>(db =>
                db.Worklist.AnyAsync(w => w.StaffId == Counselor && w.ReasonsJson.Contains(alert.AlertId.ToString()))),
            applied => applied, TimeSpan.FromSeconds(60)), $"alert {alert.Kind} never reached the worklist");
    }

    private Task<List<FeedEntry>> FeedAsync() =>
        _notifications.WithDbAsync<NotificationsDbContext, List<FeedEntry>>(db => db.Feed.Where(f => f.StaffId == Counselor).ToListAsync());

    private async Task<JsonElement> WorklistAsync(string query = "") =>
        await _client.GetFromJsonAsync<JsonElement>($"/api/notifications/v1/staff/{Counselor}/worklist{query}");

    private static List<string?> Students(JsonElement list) => [.. list.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("studentId").GetString())];

    [Fact]
    public async Task One_entry_per_student_across_kinds_and_only_material_changes_notify()
    {
        // Indicator, then the model on the same evidence, then a re-crossing after a correction, then a new kind, then severe.
        await ApplyAsync(Alert("s1", RiskKinds.ChronicAbsence, 0.15));
        await ApplyAsync(Alert("s1", "chronic-absence-model", 0.62, "Raising it: absent more often lately."));
        await ApplyAsync(Alert("s1", RiskKinds.ChronicAbsence, 0.11, "Missed 2 of 18 school days so far (11 %)."));
        Assert.Single(await FeedAsync());

        await ApplyAsync(Alert("s1", RiskKinds.Behavior, 1, "An out-of-school suspension on 2026-11-02."));
        Assert.Equal(2, (await FeedAsync()).Count);
        await ApplyAsync(Alert("s1", RiskKinds.ChronicAbsence, 0.25, "Missed 5 of 20 school days so far (25 %)."));
        var feed = await FeedAsync();
        Assert.Equal(3, feed.Count);
        Assert.Contains(feed, f => f.Title.Contains("attendance got worse", StringComparison.Ordinal));
        Assert.All(feed, f => Assert.StartsWith("Dana Four, grade 9", f.Title, StringComparison.Ordinal));

        await ApplyAsync(Alert("s2", RiskKinds.CoursePerformance, 0.34, "Failing 1 of 3 courses."));
        var list = await WorklistAsync();
        Assert.Equal(2, list.GetProperty("total").GetInt32());
        var entries = list.GetProperty("entries").EnumerateArray().ToList();
        Assert.Equal([$"{_school}-s1", $"{_school}-s2"], entries.Select(e => e.GetProperty("studentId").GetString()));   // severe first
        var s1 = entries[0];
        Assert.Equal("Dana Four", s1.GetProperty("studentName").GetString());
        Assert.Equal("severe", s1.GetProperty("level").GetString());
        var reasons = s1.GetProperty("reasons").EnumerateArray().ToList();
        Assert.Equal(["chronic-absence", "behavior"], reasons.Select(r => r.GetProperty("family").GetString()));   // model merged, severe first
        Assert.Equal(0.62, reasons[0].GetProperty("modelScore").GetDouble());
        Assert.Contains("Missed 5 of 20", reasons[0].GetProperty("text").GetString());
        Assert.Equal(2, list.GetProperty("unread").GetInt32());

        using (var read = await _client.PostAsync($"/api/notifications/v1/staff/{Counselor}/worklist/read", null))
        {
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        }
        Assert.Equal(0, (await WorklistAsync()).GetProperty("unread").GetInt32());
        Assert.All(await FeedAsync(), f => Assert.True(f.Read));

        // Read stays read when nothing material changes; a new kind of reason brings the student back as unread.
        await ApplyAsync(Alert("s1", "chronic-absence-model", 0.64));
        Assert.Equal(0, (await WorklistAsync()).GetProperty("unread").GetInt32());
        await ApplyAsync(Alert("s1", RiskKinds.CoursePerformance, 0.5, "Failing 2 of 4 courses."));
        Assert.Equal(1, (await WorklistAsync()).GetProperty("unread").GetInt32());
        Assert.Equal(5, (await FeedAsync()).Count);   // s1: new, behaviour, severe, course performance; s2: new

        // Filtered by kind of reason, with each kind's count; sorted by name or by the latest change.
        var courses = await WorklistAsync("?kind=course-performance");
        Assert.Equal([$"{_school}-s1", $"{_school}-s2"], Students(courses));
        Assert.Equal(2, courses.GetProperty("shown").GetInt32());
        var behaviour = await WorklistAsync("?kind=behavior");
        Assert.Equal([$"{_school}-s1"], Students(behaviour));
        Assert.Equal(2, behaviour.GetProperty("total").GetInt32());   // the list's size, not the filter's
        Assert.Empty(Students(await WorklistAsync("?kind=dropout")));
        var kinds = behaviour.GetProperty("kinds");
        Assert.Equal((1, 1, 2, 0), (kinds.GetProperty("chronic-absence").GetInt32(), kinds.GetProperty("behavior").GetInt32(),
            kinds.GetProperty("course-performance").GetInt32(), kinds.GetProperty("dropout").GetInt32()));
        Assert.Equal([$"{_school}-s1", $"{_school}-s2"], Students(await WorklistAsync("?sort=name")));   // Dana before Eli
        Assert.Equal([$"{_school}-s1", $"{_school}-s2"], Students(await WorklistAsync("?sort=changed")));   // s1's course reason came last
        await ApplyAsync(Alert("s2", RiskKinds.Behavior, 1, "A fight on 2026-11-20."));
        Assert.Equal([$"{_school}-s2", $"{_school}-s1"], Students(await WorklistAsync("?sort=changed")));
        Assert.Equal([$"{_school}-s1", $"{_school}-s2"], Students(await WorklistAsync()));   // priority: s1 is still the severe one
    }

    [Fact]
    public async Task A_redelivered_alert_changes_nothing_and_bad_input_is_a_400_or_404()
    {
        var alert = Alert("s2", RiskKinds.ChronicAbsence, 0.12);
        await ApplyAsync(alert);
        await _notifications.Services.GetRequiredService<IBus>().Publish(alert);
        await Task.Delay(1500);
        Assert.Single(await FeedAsync());
        var entry = Assert.Single((await WorklistAsync()).GetProperty("entries").EnumerateArray());
        Assert.Single(entry.GetProperty("reasons").EnumerateArray());

        using var badLimit = await _client.GetAsync($"/api/notifications/v1/staff/{Counselor}/worklist?limit=0");
        Assert.Equal(HttpStatusCode.BadRequest, badLimit.StatusCode);
        using var badKind = await _client.GetAsync($"/api/notifications/v1/staff/{Counselor}/worklist?kind=chronic-absence-model");
        Assert.Equal(HttpStatusCode.BadRequest, badKind.StatusCode);
        Assert.Contains("behavior", await badKind.Content.ReadAsStringAsync());
        using var badSort = await _client.GetAsync($"/api/notifications/v1/staff/{Counselor}/worklist?sort=risk");
        Assert.Equal(HttpStatusCode.BadRequest, badSort.StatusCode);
        using var unknown = await _client.PostAsync($"/api/notifications/v1/staff/{Counselor}/worklist/nobody/read", null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }
}
