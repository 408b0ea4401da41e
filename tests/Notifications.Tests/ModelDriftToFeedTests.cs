using Beacon.Contracts.Events;
using Beacon.Notifications.Consumers;
using Beacon.Notifications.Storage;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.Notifications.Tests;

/// <summary>ModelDriftDetected on the real RabbitMQ lands once in each ops person's feed, even when redelivered.</summary>
public sealed class ModelDriftToFeedTests : IAsyncLifetime
{
    private readonly ServiceFactory<Program> _service = new() { Settings = { ["Notifications:OpsStaff:0"] = "ops-test-1" } };

    public Task InitializeAsync() => _service.WaitUntilReadyAsync();

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Fact]
    public async Task Ops_staff_get_one_feed_entry_per_drift_alert()
    {
        var opsOnRoster = $"ops-{Guid.NewGuid():N}"[..12];
        await _service.WithDbAsync<NotificationsDbContext, int>(async db =>
        {
            db.Staff.Add(new StaffMember { StaffId = opsOnRoster, SchoolId = "district", Role = "ops", Name = "Ops", Email = "" });
            return await db.SaveChangesAsync();
        });
        var drift = new ModelDriftDetected(NewId.NextGuid(), "chronic-absence", Guid.NewGuid(), 3, "baseline", new DateOnly(2027, 1, 22), 0.31, ["tardies"], 300, DateTimeOffset.UtcNow);
        var bus = _service.Services.GetRequiredService<IBus>();
        await bus.Publish(drift);
        await bus.Publish(drift);

        var entries = await Eventually.WaitAsync(
            () => _service.WithDbAsync<NotificationsDbContext, List<FeedEntry>>(db => db.Feed.Where(f => f.SourceEventId == drift.RunId).ToListAsync()),
            e => e.Count >= 2, TimeSpan.FromSeconds(60));
        await Task.Delay(1000);
        entries = await _service.WithDbAsync<NotificationsDbContext, List<FeedEntry>>(db => db.Feed.Where(f => f.SourceEventId == drift.RunId).ToListAsync());
        Assert.Equal([opsOnRoster, "ops-test-1"], entries.Select(e => e.StaffId).Order(StringComparer.Ordinal));
        Assert.All(entries, e => Assert.Equal(ModelDriftDetectedConsumer.Kind, e.Kind));
        Assert.Contains("PSI 0.31", entries[0].Body);
        Assert.Contains("tardies", entries[0].Body);
    }
}
