extern alias Ingestion;

using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.Messaging;
using Beacon.Notifications.Domain;
using Beacon.Notifications.Storage;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using IngestionProgram = Ingestion::Program;

namespace Beacon.Notifications.Tests;

/// <summary>
/// Notifications against real parts: RabbitMQ, a real Ingestion (gRPC roster, StaffAssigned on the bus),
/// a real SMTP server and a real HTTP webhook receiver on loopback.
/// </summary>
public sealed class DeliveryTests : IAsyncLifetime
{
    private readonly ServiceFactory<IngestionProgram> _ingestion = new();
    private readonly TestSmtpServer _smtp = new();
    private WebhookReceiver _hook = null!;
    private ServiceFactory<Program> _notifications = null!;
    private HttpClient _client = null!;
    private readonly string _school = $"sch-{Guid.NewGuid():N}"[..12];

    public async Task InitializeAsync()
    {
        _hook = await WebhookReceiver.StartAsync();
        _notifications = new ServiceFactory<Program>
        {
            BusScope = _ingestion.BusScope,
            ClientHandlers = { ["RosterClient"] = () => _ingestion.Server.CreateHandler() },
            Settings =
            {
                ["Notifications:Smtp:Host"] = "127.0.0.1",
                ["Notifications:Smtp:Port"] = _smtp.Port.ToString(),
                ["Notifications:PollInterval"] = "00:00:00.200",
                ["Notifications:StreamHeartbeat"] = "00:00:00.500",
                ["Notifications:RetryDelay"] = "00:00:00.300",
                ["Notifications:MaxAttempts"] = "2",
                ["Notifications:InCallRetries"] = "2",
                ["Notifications:InCallRetryDelay"] = "00:00:00.050",
                // The receiver is plain http on loopback: allowed here only because an administrator would allow-list it.
                ["Notifications:Webhooks:AllowHttp"] = "true",
                ["Notifications:Webhooks:AllowedHosts:0"] = "127.0.0.1",
            },
        };
        await _ingestion.WaitUntilReadyAsync();
        await _notifications.WaitUntilReadyAsync();
        _client = _notifications.CreateClient();
        using var ingestion = _ingestion.CreateClient();
        using var roster = await ingestion.PostAsJsonAsync("/api/ingestion/v1/roster", new
        {
            schools = new[] { new { schoolId = _school, name = "Test school" } },
            staff = new[]
            {
                new { staffId = $"{_school}-c1", schoolId = _school, role = "counselor", givenName = "Ada", familyName = "One", email = "ada@school.test" },
                new { staffId = $"{_school}-c2", schoolId = _school, role = "counselor", givenName = "Ben", familyName = "Two", email = "ben@school.test" },
                new { staffId = $"{_school}-co", schoolId = _school, role = "coordinator", givenName = "Cy", familyName = "Three", email = "cy@school.test" },
            },
            students = new[] { new { studentId = $"{_school}-s1", schoolId = _school, givenName = "D", familyName = "Four", gradeLevel = "9" } },
        });
        roster.EnsureSuccessStatusCode();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _notifications.DisposeAsync();
        await _ingestion.DisposeAsync();
        await _hook.DisposeAsync();
        await _smtp.DisposeAsync();
    }

    private RiskAlertRaised NewAlert() =>
        new(NewId.NextGuid(), $"{_school}-s1", _school, RiskKinds.ChronicAbsence, "Missed 2 of 10 school days so far (20 %).", 0.2, DateTimeOffset.UtcNow);

    private Task PublishAsync<T>(T message, Guid? messageId = null)
        where T : class =>
        _notifications.Services.GetRequiredService<IBus>().Publish(message, ctx => ctx.MessageId = messageId ?? NewId.NextGuid());

    private Task<List<Delivery>> DeliveriesAsync(Guid eventId) =>
        _notifications.WithDbAsync<NotificationsDbContext, List<Delivery>>(db => db.Deliveries.Where(d => d.SourceEventId == eventId).ToListAsync());

    private async Task SetPreferencesAsync(string staffId, object prefs)
    {
        using var response = await _client.PutAsJsonAsync($"/api/notifications/v1/staff/{staffId}/preferences", prefs);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task An_alert_reaches_each_counselor_by_email_once_even_when_redelivered()
    {
        var alert = NewAlert();
        var messageId = NewId.NextGuid();
        await PublishAsync(alert, messageId);
        await PublishAsync(alert, messageId);
        await PublishAsync(alert);   // and once re-published under a new message id

        await Eventually.WaitAsync(() => Task.FromResult(_smtp.Received.Count), n => n >= 2, TimeSpan.FromSeconds(60));
        await Task.Delay(1500);
        var mails = _smtp.Received.ToList();
        Assert.Equal(["ada@school.test", "ben@school.test"], mails.Select(m => m.To.Mailboxes.Single().Address).Order());
        Assert.All(mails, m => Assert.Contains("D Four, grade 9", m.Subject));   // the roster's name, not the id
        Assert.All(mails, m => Assert.Contains("Missed 2 of 10", m.TextBody));

        var deliveries = await DeliveriesAsync(alert.AlertId);
        Assert.Equal(2, deliveries.Count);
        Assert.All(deliveries, d => Assert.Equal(DeliveryStatuses.Sent, d.Status));
        var delivered = await Eventually.WaitAsync(() => _notifications.WithDbAsync<NotificationsDbContext, int>(db =>
            db.Set<OutboxMessage>().CountAsync(m => m.MessageType.Contains(nameof(NotificationDelivered)) && m.Body.Contains(alert.AlertId.ToString()))), n => n >= 4, TimeSpan.FromSeconds(5));
        Assert.Equal(4, delivered);   // two feed entries, two emails
    }

    [Fact]
    public async Task A_webhook_is_signed_with_the_recipients_secret_and_the_receiver_verifies_it()
    {
        const string secret = "a-long-shared-secret-for-tests";
        await SetPreferencesAsync($"{_school}-c1", new
        {
            kinds = new Dictionary<string, object> { ["risk-alert"] = new { channels = new[] { "webhook" } } },
            webhookUrl = _hook.Url,
            webhookSecret = secret,
        });
        var alert = NewAlert();
        await PublishAsync(alert);
        await PublishAsync(alert);

        await Eventually.WaitAsync(() => Task.FromResult(_hook.Calls.Count), n => n >= 1, TimeSpan.FromSeconds(60));
        await Task.Delay(1500);
        var call = Assert.Single(_hook.Calls);

        // What a receiver does, written out here rather than calling the service's own helper.
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{call.Timestamp}.{call.Body}")));
        Assert.Equal(expected, call.Signature);
        var wrong = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes("another-secret-entirely"), Encoding.UTF8.GetBytes($"{call.Timestamp}.{call.Body}")));
        Assert.NotEqual(wrong, call.Signature);
        var payload = JsonDocument.Parse(call.Body).RootElement;
        Assert.Equal(alert.AlertId, payload.GetProperty("notifications")[0].GetProperty("eventId").GetGuid());

        // c1 chose the webhook only: no feed entry, no email; c2 has the defaults.
        var feed = await _notifications.WithDbAsync<NotificationsDbContext, List<string>>(db => db.Feed.Where(f => f.SourceEventId == alert.AlertId).Select(f => f.StaffId).ToListAsync());
        Assert.Equal([$"{_school}-c2"], feed);
        await Eventually.WaitAsync(() => Task.FromResult(_smtp.Received.Count), n => n >= 1, TimeSpan.FromSeconds(60));
        Assert.Equal("ben@school.test", Assert.Single(_smtp.Received).To.Mailboxes.Single().Address);
    }

    [Fact]
    public async Task A_failing_webhook_is_retried_then_dead_lettered_and_ops_can_redrive_it()
    {
        await SetPreferencesAsync($"{_school}-c1", new
        {
            kinds = new Dictionary<string, object> { ["risk-alert"] = new { channels = new[] { "in-app", "webhook" } } },
            webhookUrl = _hook.Url,
            webhookSecret = "a-long-shared-secret-for-tests",
        });
        _hook.Fail = true;
        var alert = NewAlert();
        await PublishAsync(alert);

        var dead = await Eventually.WaitAsync(async () => (await DeliveriesAsync(alert.AlertId)).Where(d => d.Channel == Channels.Webhook).ToList(),
            d => d.Count == 1 && d[0].Status == DeliveryStatuses.Dead, TimeSpan.FromSeconds(30));
        var delivery = Assert.Single(dead);
        Assert.Equal(DeliveryStatuses.Dead, delivery.Status);
        Assert.Equal(2, delivery.Attempts);                 // two dispatch rounds (MaxAttempts)...
        Assert.Equal(2 * 3, _hook.Calls.Count);            // ...each one call plus two in-call retries
        Assert.Contains("503", delivery.LastError);

        var list = await _client.GetFromJsonAsync<JsonElement>("/api/notifications/v1/dead-letters");
        Assert.Contains(list.GetProperty("deadLetters").EnumerateArray(), d => d.GetProperty("deliveryId").GetGuid() == delivery.DeliveryId);

        _hook.Fail = false;
        using var redrive = await _client.PostAsync($"/api/notifications/v1/dead-letters/{delivery.DeliveryId}/redrive", null);
        Assert.Equal(HttpStatusCode.Accepted, redrive.StatusCode);
        var sent = await Eventually.WaitAsync(async () => (await DeliveriesAsync(alert.AlertId)).Single(d => d.Channel == Channels.Webhook),
            d => d.Status == DeliveryStatuses.Sent, TimeSpan.FromSeconds(60));
        Assert.Equal(DeliveryStatuses.Sent, sent.Status);
        Assert.Equal(7, _hook.Calls.Count);

        using var again = await _client.PostAsync($"/api/notifications/v1/dead-letters/{delivery.DeliveryId}/redrive", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task Assignment_reaches_owner_and_helper_and_overdue_escalates_to_the_coordinator()
    {
        // The coordinator is known from StaffAssigned, published by the real Ingestion over the bus.
        await Eventually.WaitAsync(() => _notifications.WithDbAsync<NotificationsDbContext, bool>(db => db.Staff.AnyAsync(s => s.StaffId == $"{_school}-co")),
            found => found, TimeSpan.FromSeconds(60));

        var caseId = NewId.NextGuid();
        var assigned = new InterventionAssigned(caseId, $"{_school}-s1", _school, $"{_school}-c1", [$"{_school}-c2"], "coord", DateTimeOffset.UtcNow);
        await PublishAsync(assigned);
        await PublishAsync(assigned);
        var overdue = new InterventionOverdue(caseId, $"{_school}-s1", _school, $"{_school}-c1", new DateOnly(2026, 11, 20), 2, DateTimeOffset.UtcNow);
        await PublishAsync(overdue);

        var feed = await Eventually.WaitAsync(() => _notifications.WithDbAsync<NotificationsDbContext, List<FeedEntry>>(db => db.Feed.Where(f => f.StudentId == $"{_school}-s1").ToListAsync()),
            f => f.Count >= 4, TimeSpan.FromSeconds(60));
        await Task.Delay(1000);
        feed = await _notifications.WithDbAsync<NotificationsDbContext, List<FeedEntry>>(db => db.Feed.Where(f => f.StudentId == $"{_school}-s1").ToListAsync());
        Assert.Equal([$"{_school}-c1", $"{_school}-c2"], feed.Where(f => f.Kind == EventKinds.CaseAssigned).Select(f => f.StaffId).Order());
        Assert.Equal([$"{_school}-c1", $"{_school}-co"], feed.Where(f => f.Kind == EventKinds.CaseOverdue).Select(f => f.StaffId).Order());
        await Eventually.WaitAsync(() => Task.FromResult(_smtp.Received.Count), n => n >= 4, TimeSpan.FromSeconds(60));
        Assert.Contains(_smtp.Received, m => m.To.Mailboxes.Single().Address == "cy@school.test" && (m.Subject ?? "").StartsWith("Overdue", StringComparison.Ordinal));

        // A school without a coordinator: the escalation is not dropped, it is a dead letter ops can see.
        var orphan = new InterventionOverdue(NewId.NextGuid(), "stu-x", $"nowhere-{Guid.NewGuid():N}", null, new DateOnly(2026, 11, 20), 1, DateTimeOffset.UtcNow);
        await PublishAsync(orphan);
        var list = await Eventually.WaitAsync(() => _client.GetFromJsonAsync<JsonElement>("/api/notifications/v1/dead-letters"),
            l => l.GetProperty("deadLetters").EnumerateArray().Any(d => d.GetProperty("lastError").GetString()!.Contains(orphan.SchoolId)), TimeSpan.FromSeconds(60));
        Assert.Contains(list.GetProperty("deadLetters").EnumerateArray(), d => d.GetProperty("channel").GetString() == Channels.None);
    }

    [Fact]
    public async Task The_feed_is_pushed_live_and_entries_can_be_marked_read()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/notifications/v1/staff/{_school}-c1/feed/stream");
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));

        Assert.Equal("event: ready", await reader.ReadLineAsync(cts.Token));
        // A quiet stream sends heartbeats (every 0.5 s here), so proxies do not close it.
        Assert.Equal("heartbeat", (await NextEventAsync(reader, cts.Token)).Type);
        var alert = NewAlert();
        await PublishAsync(alert);
        var (eventType, data) = await NextEventAsync(reader, cts.Token, skip: "heartbeat");
        Assert.Equal("feed-entry", eventType);
        var pushed = JsonDocument.Parse(data!).RootElement;
        Assert.Equal(alert.AlertId, pushed.GetProperty("eventId").GetGuid());

        var entryId = pushed.GetProperty("entryId").GetGuid();
        using var read = await _client.PostAsync($"/api/notifications/v1/staff/{_school}-c1/feed/{entryId}/read", null);
        Assert.Equal(HttpStatusCode.NoContent, read.StatusCode);
        var feed = await _client.GetFromJsonAsync<JsonElement>($"/api/notifications/v1/staff/{_school}-c1/feed");
        Assert.True(feed.GetProperty("entries").EnumerateArray().Single(e => e.GetProperty("entryId").GetGuid() == entryId).GetProperty("read").GetBoolean());
        var unread = await _client.GetFromJsonAsync<JsonElement>($"/api/notifications/v1/staff/{_school}-c1/feed?unreadOnly=true");
        Assert.DoesNotContain(unread.GetProperty("entries").EnumerateArray(), e => e.GetProperty("entryId").GetGuid() == entryId);
        using var missing = await _client.PostAsync($"/api/notifications/v1/staff/{_school}-c2/feed/{entryId}/read", null);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task A_live_feed_the_client_closes_ends_without_an_error()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var response = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/api/notifications/v1/staff/{_school}-c2/feed/stream"),
            HttpCompletionOption.ResponseHeadersRead, cts.Token);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
        Assert.Equal("event: ready", await reader.ReadLineAsync(cts.Token));
        Assert.Equal("heartbeat", (await NextEventAsync(reader, cts.Token)).Type);
        // The client goes away while the stream waits for the next entry (the read the stream must end first).
        reader.Dispose();
        response.Dispose();
        await Task.Delay(TimeSpan.FromSeconds(2), cts.Token);
        Assert.DoesNotContain(_notifications.ErrorLog.Errors, e => e.Contains("NotificationsApi", StringComparison.Ordinal) || e.Contains("NotSupportedException", StringComparison.Ordinal));
    }

    private static async Task<(string? Type, string? Data)> NextEventAsync(StreamReader reader, CancellationToken ct, string? skip = null)
    {
        string? eventType = null, data = null;
        while ((eventType is null || data is null) && await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                eventType = line["event: ".Length..];
            }
            else if (eventType is not null && line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data = line["data: ".Length..];
                if (eventType == skip)
                {
                    (eventType, data) = (null, null);
                }
            }
        }
        return (eventType, data);
    }

    [Fact]
    public async Task Bad_preferences_are_a_400_naming_each_field()
    {
        using var response = await _client.PutAsJsonAsync($"/api/notifications/v1/staff/{_school}-c1/preferences", new
        {
            kinds = new Dictionary<string, object> { ["risk-alert"] = new { channels = new[] { "pigeon", "webhook" } } },
            quietHours = new { from = "25:00", until = "07:00" },
            timeZone = "Mars/Olympus",
            webhookUrl = "ftp://example",
            webhookSecret = "short",
        });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        var keys = errors.EnumerateObject().Select(p => p.Name).ToList();
        foreach (var expected in new[] { "quietHours.from", "timeZone", "webhookUrl", "webhookSecret" })
        {
            Assert.Contains(expected, keys);
        }
        Assert.Contains(keys, k => k.StartsWith("kinds", StringComparison.Ordinal));
        Assert.Contains(errors.EnumerateObject().SelectMany(p => p.Value.EnumerateArray()), e => e.GetString()!.Contains("pigeon"));
        var stored = await _notifications.WithDbAsync<NotificationsDbContext, bool>(db => db.Preferences.AnyAsync(p => p.StaffId == $"{_school}-c1"));
        Assert.False(stored);
    }

    [Fact]
    public async Task Without_an_sms_transport_sms_is_refused_and_a_text_left_from_before_is_dead_lettered()
    {
        // This service has no Notifications:SmsTransport: SMS is not offered, and choosing it says so on the field.
        using var response = await _client.PutAsJsonAsync($"/api/notifications/v1/staff/{_school}-c2/preferences",
            new { kinds = new Dictionary<string, object> { ["risk-alert"] = new { channels = new[] { "in-app", "sms" } } } });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateObject().ToList();
        var refusal = Assert.Single(errors);
        Assert.StartsWith("kinds", refusal.Name);
        Assert.Contains("'sms' is not offered here: no SMS transport is configured", refusal.Value[0].GetString());
        var offered = await _client.GetFromJsonAsync<JsonElement>($"/api/notifications/v1/staff/{_school}-c2/preferences");
        Assert.Equal(["in-app", "email", "webhook"], offered.GetProperty("channelsOffered").EnumerateArray().Select(c => c.GetString()));

        // A text queued while SMS was on (a preference saved then): dead at once, with the reason, never silently dropped.
        var deliveryId = NewId.NextGuid();
        await _notifications.WithDbAsync<NotificationsDbContext, int>(db =>
        {
            db.Deliveries.Add(new Delivery
            {
                DeliveryId = deliveryId,
                StaffId = $"{_school}-c2",
                SourceEventId = NewId.NextGuid(),
                Channel = Channels.Sms,
                Kind = EventKinds.RiskAlert,
                Title = "t",
                Body = "b",
                ShortText = "D.F.: needs a look",
                CreatedAt = DateTimeOffset.UtcNow,
                NotBefore = DateTimeOffset.UtcNow,
            });
            return db.SaveChangesAsync();
        });
        var dead = await Eventually.WaitAsync(() => _notifications.WithDbAsync<NotificationsDbContext, Delivery>(db => db.Deliveries.AsNoTracking().SingleAsync(d => d.DeliveryId == deliveryId)),
            d => d.Status != DeliveryStatuses.Pending, TimeSpan.FromSeconds(30));
        Assert.Equal((DeliveryStatuses.Dead, 1), (dead.Status, dead.Attempts));
        Assert.StartsWith("No SMS transport configured", dead.LastError);
    }
}
