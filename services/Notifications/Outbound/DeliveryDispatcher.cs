using Beacon.Contracts.Events;
using Beacon.Messaging;
using Beacon.Notifications.Domain;
using Beacon.Notifications.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.Notifications.Outbound;

/// <summary>
/// Sends the pending outbound deliveries that are due. Digests for one recipient and channel go out as
/// one message. A failed round is retried later with doubling delays; after MaxAttempts rounds, or at
/// once when retrying cannot help, the delivery is dead (listed for ops, who can re-drive it).
/// </summary>
public sealed class DeliveryDispatch(NotificationsDbContext db, IEnumerable<IChannelSender> senders, IOptions<DeliveryOptions> options,
    TimeProvider clock, ILogger<DeliveryDispatch> logger)
{
    public async Task<int> RunAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var due = (await db.Deliveries.Where(d => d.Status == DeliveryStatuses.Pending).ToListAsync(ct))
            .Where(d => d.NotBefore <= now)   // compared in memory: SQLite cannot order DateTimeOffset
            .OrderBy(d => d.CreatedAt).Take(200).ToList();
        var groups = due.GroupBy(d => d.Digest ? (d.StaffId, d.Channel, Guid.Empty) : (d.StaffId, d.Channel, d.DeliveryId));
        var byChannel = senders.ToDictionary(s => s.Channel);
        foreach (var group in groups)
        {
            var items = group.ToList();
            var (staffId, channel, _) = group.Key;
            var staff = await db.Staff.AsNoTracking().FirstOrDefaultAsync(s => s.StaffId == staffId, ct);
            var prefs = await db.Preferences.AsNoTracking().FirstOrDefaultAsync(p => p.StaffId == staffId, ct);
            try
            {
                if (!byChannel.TryGetValue(channel, out var sender))
                {
                    throw new PermanentDeliveryException(channel == Channels.Sms
                        ? "No SMS transport configured: texts go through a Dapr SMS binding (Notifications:SmsTransport=dapr), and this deployment has none."
                        : $"No sender for channel '{channel}'.");
                }
                await sender.SendAsync(staff, prefs, items, ct);
                var sentAt = clock.GetUtcNow();
                foreach (var d in items)
                {
                    d.Status = DeliveryStatuses.Sent;
                    d.Attempts++;
                    d.SentAt = sentAt;
                    d.LastError = null;
                    db.Publish(new NotificationDelivered(d.DeliveryId, d.StaffId, d.Channel, d.Kind, d.SourceEventId, sentAt));
                }
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                var permanent = ex is PermanentDeliveryException;
                foreach (var d in items)
                {
                    d.Attempts++;
                    d.LastError = ex.Message;
                    if (permanent || d.Attempts >= options.Value.MaxAttempts)
                    {
                        d.Status = DeliveryStatuses.Dead;
                    }
                    else
                    {
                        d.NotBefore = clock.GetUtcNow() + options.Value.RetryDelay * Math.Pow(2, d.Attempts - 1);
                    }
                }
                logger.LogWarning("Delivery of {Count} {Channel} message(s) to {StaffId} failed (attempt {Attempt}): {Error}",
                    items.Count, channel, staffId, items[0].Attempts, ex.Message);
            }
            await db.SaveChangesAsync(ct);
        }
        return due.Count;
    }
}

public sealed class DeliveryDispatcher(IServiceScopeFactory scopes, IOptions<DeliveryOptions> options, TimeProvider clock, ILogger<DeliveryDispatcher> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.PollInterval, clock);
        try
        {
            do
            {
                try
                {
                    await using var scope = scopes.CreateAsyncScope();
                    await scope.ServiceProvider.GetRequiredService<DeliveryDispatch>().RunAsync(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // Database briefly unavailable: nothing was marked, the next tick tries again.
                    logger.LogWarning(ex, "Delivery dispatch failed; retrying next tick");
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
