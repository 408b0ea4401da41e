extern alias Ingestion;

using System.Net.Http.Json;
using Beacon.Contracts.Events;
using Beacon.Messaging;
using Beacon.Notifications.Storage;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using IngestionProgram = Ingestion::Program;

namespace Beacon.Notifications.Tests;

/// <summary>
/// Notifications with a real Ingestion answering its gRPC roster question (both hosted in memory),
/// on the real RabbitMQ: one feed entry per counselor per alert, even when the alert is redelivered.
/// </summary>
public sealed class AlertToFeedTests : IAsyncLifetime
{
    private readonly ServiceFactory<IngestionProgram> _ingestion = new();
    private ServiceFactory<Program> _notifications = null!;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _rosterQuestions = new();

    public async Task InitializeAsync()
    {
        _notifications = new ServiceFactory<Program>
        {
            BusScope = _ingestion.BusScope,
            ClientHandlers = { ["RosterClient"] = () => new RosterQuestionRecorder(_ingestion.Server.CreateHandler(), _rosterQuestions) },
        };
        await _ingestion.WaitUntilReadyAsync();
        await _notifications.WaitUntilReadyAsync();
    }

    public async Task DisposeAsync()
    {
        await _notifications.DisposeAsync();
        await _ingestion.DisposeAsync();
    }

    private async Task UploadRosterAsync(string school, params (string Suffix, string Role)[] staff)
    {
        using var rosterClient = _ingestion.CreateClient();
        using var roster = await rosterClient.PostAsJsonAsync("/api/ingestion/v1/roster", new
        {
            schools = new[] { new { schoolId = school, name = "Test school" } },
            staff = staff.Select(s => new { staffId = $"{school}-{s.Suffix}", schoolId = school, role = s.Role, givenName = "A", familyName = s.Suffix, email = "" }).ToArray(),
            students = new[] { new { studentId = $"{school}-s1", schoolId = school, givenName = "D", familyName = "Four", gradeLevel = "9" } },
        });
        roster.EnsureSuccessStatusCode();
    }

    private Task<List<FeedEntry>> FeedOfAsync(Guid alertId) =>
        _notifications.WithDbAsync<NotificationsDbContext, List<FeedEntry>>(db => db.Feed.Where(f => f.SourceEventId == alertId).ToListAsync());

    private static RiskAlertRaised AlertFor(string school, string kind = RiskKinds.ChronicAbsence) =>
        new(NewId.NextGuid(), $"{school}-s1", school, kind, "Missed 2 of 10 school days so far (20 %).", 0.2, DateTimeOffset.UtcNow);

    [Fact]
    public async Task Every_counselor_of_the_school_gets_one_entry_even_on_redelivery()
    {
        var school = $"sch-{Guid.NewGuid():N}"[..12];
        await UploadRosterAsync(school, ("c1", "counselor"), ("c2", "counselor"), ("t1", "teacher"));

        var alert = AlertFor(school);
        var bus = _notifications.Services.GetRequiredService<IBus>();
        await bus.Publish(alert);
        await bus.Publish(alert);

        var entries = await Eventually.WaitAsync(
            () => _notifications.WithDbAsync<NotificationsDbContext, List<FeedEntry>>(db => db.Feed.Where(f => f.SourceEventId == alert.AlertId).ToListAsync()),
            e => e.Count >= 2, TimeSpan.FromSeconds(60));
        await Task.Delay(1500);
        entries = await _notifications.WithDbAsync<NotificationsDbContext, List<FeedEntry>>(db => db.Feed.Where(f => f.SourceEventId == alert.AlertId).ToListAsync());
        Assert.Equal([$"{school}-c1", $"{school}-c2"], entries.Select(e => e.StaffId).Order());

        var delivered = await _notifications.WithDbAsync<NotificationsDbContext, int>(db =>
            db.Set<OutboxMessage>().CountAsync(m => m.MessageType.Contains(nameof(NotificationDelivered)) && m.Body.Contains(alert.AlertId.ToString())));
        Assert.Equal(2, delivered);

        using var feedClient = _notifications.CreateClient();
        var feed = await feedClient.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/notifications/v1/staff/{school}-c1/feed");
        Assert.Equal(alert.AlertId.ToString(), feed.GetProperty("entries")[0].GetProperty("alertId").GetString());
    }

    [Fact]
    public async Task The_roster_is_asked_once_for_a_schools_alerts_and_again_after_its_staff_changed()
    {
        var school = $"sch-{Guid.NewGuid():N}"[..12];
        await UploadRosterAsync(school, ("c1", "counselor"), ("c2", "counselor"));
        await StaffKnownAsync($"{school}-c2");
        var bus = _notifications.Services.GetRequiredService<IBus>();

        // Two alerts of the school, one after the other (two kinds of reason, so each is news to the worklist): one roster question.
        foreach (var alert in new[] { AlertFor(school), AlertFor(school, RiskKinds.Behavior) })
        {
            await bus.Publish(alert);
            Assert.Equal(2, (await Eventually.WaitAsync(() => FeedOfAsync(alert.AlertId), e => e.Count >= 2, TimeSpan.FromSeconds(60))).Count);
        }
        Assert.Equal(1, _rosterQuestions.Count(q => q.Contains(school, StringComparison.Ordinal)));

        // A counselor joins: once Notifications has the StaffAssigned event, the next alert asks again and reaches all three.
        await UploadRosterAsync(school, ("c1", "counselor"), ("c2", "counselor"), ("c3", "counselor"));
        await StaffKnownAsync($"{school}-c3");
        var later = AlertFor(school, RiskKinds.CoursePerformance);   // a new kind of reason: news to every counselor
        await bus.Publish(later);
        var entries = await Eventually.WaitAsync(() => FeedOfAsync(later.AlertId), e => e.Count >= 3, TimeSpan.FromSeconds(60));
        Assert.Equal([$"{school}-c1", $"{school}-c2", $"{school}-c3"], entries.Select(e => e.StaffId).Order());
        Assert.Equal(2, _rosterQuestions.Count(q => q.Contains(school, StringComparison.Ordinal)));
    }

    private async Task StaffKnownAsync(string staffId) =>
        Assert.True(await Eventually.WaitAsync(
            () => _notifications.WithDbAsync<NotificationsDbContext, bool>(db => db.Staff.AnyAsync(s => s.StaffId == staffId)), known => known, TimeSpan.FromSeconds(60)),
            $"{staffId}'s StaffAssigned never reached Notifications");

    /// <summary>
    /// Records the roster's "who are the counselors" questions that reach the in-memory Ingestion, so a test counts
    /// those about its own school (the class's tests share this Notifications).
    /// </summary>
    private sealed class RosterQuestionRecorder(HttpMessageHandler inner, System.Collections.Concurrent.ConcurrentQueue<string> questions) : DelegatingHandler(inner)
    {

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri?.AbsolutePath.EndsWith("/ListSchoolCounselors", StringComparison.Ordinal) == true && request.Content is { } content)
            {
                // The protobuf request holds the school id as UTF-8; reading buffers the body, which is then sent as read.
                questions.Enqueue(System.Text.Encoding.UTF8.GetString(await content.ReadAsByteArrayAsync(cancellationToken)));
            }
            return await base.SendAsync(request, cancellationToken);
        }
    }
}
