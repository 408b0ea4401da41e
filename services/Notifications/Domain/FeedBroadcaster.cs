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

    /// <summary>
    /// Whether the stream's next entry came before <paramref name="quiet"/> passed (false: time for a heartbeat, or the
    /// stream was cancelled). The heartbeat's timer and its registration on the stream's token go as soon as the entry
    /// comes: left to run out, every entry kept them for the whole period (15 s), up to a few hundred timers at once in
    /// the heap dumps of the mixed-signal bench (bench/RESULTS.md).
    /// </summary>
    public static async Task<bool> NextBeforeAsync(Task<bool> next, TimeSpan quiet, TimeProvider clock, CancellationToken ct)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var first = await Task.WhenAny(next, Task.Delay(quiet, clock, wait.Token));
        await wait.CancelAsync();
        return first == next;
    }
}
