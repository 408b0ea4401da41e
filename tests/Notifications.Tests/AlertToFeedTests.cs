extern alias Ingestion;

using System.Net.Http.Json;
using Beacon.Contracts.Events;
using Beacon.Notifications.Storage;
using Beacon.ServiceDefaults;
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

    public async Task InitializeAsync()
    {
        _notifications = new ServiceFactory<Program> { ClientHandlers = { ["RosterClient"] = () => _ingestion.Server.CreateHandler() } };
        await _ingestion.WaitUntilReadyAsync();
        await _notifications.WaitUntilReadyAsync();
    }

    public async Task DisposeAsync()
    {
        await _notifications.DisposeAsync();
        await _ingestion.DisposeAsync();
    }

    [Fact]
    public async Task Every_counselor_of_the_school_gets_one_entry_even_on_redelivery()
    {
        var school = $"sch-{Guid.NewGuid():N}"[..12];
        using var rosterClient = _ingestion.CreateClient();
        using var roster = await rosterClient.PostAsJsonAsync("/api/ingestion/v1/roster", new
        {
            schools = new[] { new { schoolId = school, name = "Test school" } },
            staff = new[]
            {
                new { staffId = $"{school}-c1", schoolId = school, role = "counselor", givenName = "A", familyName = "One", email = "" },
                new { staffId = $"{school}-c2", schoolId = school, role = "counselor", givenName = "B", familyName = "Two", email = "" },
                new { staffId = $"{school}-t1", schoolId = school, role = "teacher", givenName = "C", familyName = "Three", email = "" },
            },
            students = new[] { new { studentId = $"{school}-s1", schoolId = school, givenName = "D", familyName = "Four", gradeLevel = "9" } },
        });
        roster.EnsureSuccessStatusCode();

        var alert = new RiskAlertRaised(NewId.NextGuid(), $"{school}-s1", school, RiskKinds.ChronicAbsence, "Missed 2 of 10 school days so far (20 %).", 0.2, DateTimeOffset.UtcNow);
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
}
