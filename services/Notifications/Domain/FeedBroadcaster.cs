using System.Collections.Concurrent;
using System.Threading.Channels;
using Beacon.Notifications.Storage;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Notifications.Domain;

/// <summary>
/// Live push of new feed entries to open server-sent-event streams (one process; each replica pushes
/// what it handled, and a reconnecting client reads the feed again).
/// </summary>
public sealed class FeedBroadcaster
{
    private readonly ConcurrentDictionary<Guid, (string StaffId, Channel<FeedEntry> Channel)> _subscribers = new();

    public IAsyncEnumerable<FeedEntry> Subscribe(string staffId, CancellationToken ct)
    {
        var id = Guid.NewGuid();
        var channel = Channel.CreateBounded<FeedEntry>(new BoundedChannelOptions(100) { FullMode = BoundedChannelFullMode.DropOldest });
        _subscribers[id] = (staffId, channel);
        ct.Register(() =>
        {
            _subscribers.TryRemove(id, out _);
            channel.Writer.TryComplete();
        });
        return channel.Reader.ReadAllAsync(ct);
    }

    /// <summary>Pushes the entry once the context's SaveChanges has committed it (never a phantom entry).</summary>
    public void AfterSave(DbContext db, FeedEntry entry)
    {
        void Handler(object? sender, SavedChangesEventArgs e)
        {
            db.SavedChanges -= Handler;
            Publish(entry);
        }
        db.SavedChanges += Handler;
    }

    public void Publish(FeedEntry entry)
    {
        foreach (var (_, (staffId, channel)) in _subscribers)
        {
            if (staffId == entry.StaffId)
            {
                channel.Writer.TryWrite(entry);
            }
        }
    }
}
