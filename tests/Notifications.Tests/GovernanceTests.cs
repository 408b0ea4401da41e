using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.Notifications.Domain;
using Beacon.Notifications.Storage;
using Beacon.ServiceDefaults;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.Notifications.Tests;

/// <summary>Erasure and retention in Notifications against the real broker.</summary>
public sealed class GovernanceTests : IAsyncLifetime
{
    private readonly ServiceFactory<Program> _service = new() { Settings = { ["Retention:FeedEntries"] = "P180D" } };

    public Task InitializeAsync() => _service.WaitUntilReadyAsync();

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private Task<T> Db<T>(Func<NotificationsDbContext, Task<T>> work) => _service.WithDbAsync(work);

    private IBus Bus => _service.Services.GetRequiredService<IBus>();

    private Task SeedAsync(string student, DateTimeOffset at) => Db(db =>
    {
        var source = Guid.NewGuid();
        db.Feed.AddRange(
            new FeedEntry { EntryId = Guid.NewGuid(), StaffId = "c1", SourceEventId = source, Kind = "risk-alert", StudentId = student, Title = $"{student} at risk", Body = "b", CreatedAt = at },
            new FeedEntry { EntryId = Guid.NewGuid(), StaffId = "c2", SourceEventId = source, Kind = "risk-alert", StudentId = student, Title = $"{student} at risk", Body = "b", CreatedAt = at });
        db.Deliveries.Add(new Delivery
        {
            DeliveryId = Guid.NewGuid(),
            StaffId = "c1",
            SourceEventId = source,
            Channel = "email",
            Kind = "risk-alert",
            Title = $"{student} at risk",
            Body = "b",
            StudentId = student,
            Status = DeliveryStatuses.Sent,
            CreatedAt = at,
            NotBefore = at,
            SentAt = at,
        });
        db.Publish(new NotificationDelivered(Guid.NewGuid(), "c1", "email", "risk-alert", null, at));
        return db.SaveChangesAsync();
    });

    private Task<Dictionary<string, int>> RowsOfAsync(string student) => Db(async db => new Dictionary<string, int>
    {
        ["Feed"] = await db.Feed.CountAsync(f => f.StudentId == student),
        ["Deliveries"] = await db.Deliveries.CountAsync(d => d.StudentId == student),
    });

    [Fact]
    public async Task Erasure_removes_the_students_feed_entries_and_emails_keeps_the_other_and_a_redelivery_changes_nothing()
    {
        var (a, b) = ($"gov-a-{Guid.NewGuid():N}"[..16], $"gov-b-{Guid.NewGuid():N}"[..16]);
        await SeedAsync(a, DateTimeOffset.UtcNow);
        await SeedAsync(b, DateTimeOffset.UtcNow);
        var before = await RowsOfAsync(b);

        var request = new StudentErasureRequested(Guid.NewGuid(), a, "test-admin", DateTimeOffset.UtcNow);
        await Bus.Publish(request);
        var first = Assert.Single(await ErasureProbe.WaitForConfirmationsAsync<NotificationsDbContext>(_service.Services, request.RequestId, 1));
        Assert.Equal("notifications", first.GetProperty("Service").GetString());
        // NotificationDelivered carries no student id, so no outbox row is about A.
        Assert.Equal(new Dictionary<string, int> { ["Feed"] = 2, ["Deliveries"] = 1, ["outbox"] = 0 }, ErasureProbe.Rows(first));
        Assert.All(await RowsOfAsync(a), kv => Assert.True(kv.Value == 0, $"{kv.Key} still holds {kv.Value} row(s) of A"));
        Assert.Equal(before, await RowsOfAsync(b));

        await Bus.Publish(request);
        var both = await ErasureProbe.WaitForConfirmationsAsync<NotificationsDbContext>(_service.Services, request.RequestId, 2);
        Assert.Equal(2, both.Count);
        Assert.All(ErasureProbe.Rows(both[1]), kv => Assert.Equal(0, kv.Value));
        Assert.Equal(before, await RowsOfAsync(b));

        // A late case assignment about A reaches no feed; the same event about another student does.
        var marker = $"gov-m-{Guid.NewGuid():N}"[..16];
        await Bus.Publish(new InterventionAssigned(Guid.NewGuid(), a, "gov", "gov-owner", [], "coord", DateTimeOffset.UtcNow));
        await Bus.Publish(new InterventionAssigned(Guid.NewGuid(), marker, "gov", "gov-owner", [], "coord", DateTimeOffset.UtcNow));
        Assert.Equal(1, await Eventually.WaitAsync(() => Db(db => db.Feed.CountAsync(f => f.StudentId == marker)), n => n == 1, TimeSpan.FromSeconds(30)));
        await Task.Delay(500);
        Assert.Equal(0, await Db(db => db.Feed.CountAsync(f => f.StudentId == a)));
    }

    [Fact]
    public async Task Retention_purges_feed_entries_older_than_the_period_and_unset_kinds_keep_everything()
    {
        var (old, young) = ($"ret-o-{Guid.NewGuid():N}"[..16], $"ret-y-{Guid.NewGuid():N}"[..16]);
        await SeedAsync(old, DateTimeOffset.UtcNow.AddDays(-200));
        await SeedAsync(young, DateTimeOffset.UtcNow.AddDays(-20));

        using var http = _service.CreateClient();
        using var response = await http.PostAsync("/api/notifications/v1/retention/run", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var kinds = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("kinds").EnumerateArray()
            .ToDictionary(k => k.GetProperty("kind").GetString()!);
        Assert.True(kinds["FeedEntries"].GetProperty("deleted").GetInt32() >= 2);

        Assert.Equal(new Dictionary<string, int> { ["Feed"] = 0, ["Deliveries"] = 1 }, await RowsOfAsync(old));   // Deliveries unset: kept
        Assert.Equal(new Dictionary<string, int> { ["Feed"] = 2, ["Deliveries"] = 1 }, await RowsOfAsync(young));
    }
}
