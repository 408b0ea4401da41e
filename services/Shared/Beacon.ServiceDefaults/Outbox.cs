using System.Collections.Concurrent;
using System.Data.Common;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using System.Threading.Channels;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Beacon.ServiceDefaults;

/// <summary>
/// A transactional outbox: events are saved in the same transaction as the state change that caused
/// them and published afterwards by <see cref="OutboxRelay{TContext}"/>, so a crash between commit and
/// publish loses nothing. (MassTransit's EF outbox package is not available here.) Consumers are
/// idempotent, so the rare double publish after a crash is harmless.
/// </summary>
public sealed class OutboxMessage
{
    public long Sequence { get; set; }
    public Guid MessageId { get; set; }
    public required string MessageType { get; set; }
    public required string Body { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? SentAt { get; set; }
    public int Attempts { get; set; }
    public string? LastError { get; set; }

    /// <summary>The event itself while it is still in memory (not stored): the relay publishes it without reading it back.</summary>
    internal object? Event { get; init; }

    /// <summary>Events with the same lane keep their order (one student's events); not stored.</summary>
    internal string? Lane { get; init; }

    /// <summary>The event this row holds, with its type, ready to publish (by the relay, or by a replay).</summary>
    public (object Message, Type Type) ToEvent()
    {
        var type = Type.GetType(MessageType, throwOnError: true)!;
        return (JsonSerializer.Deserialize(Body, type)!, type);
    }
}

public static class OutboxExtensions
{
    public static ModelBuilder AddOutbox(this ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<OutboxMessage>(e =>
        {
            e.ToTable("outbox");
            e.HasKey(m => m.Sequence);
            e.Property(m => m.Sequence).ValueGeneratedOnAdd();
            e.HasIndex(m => m.MessageId).IsUnique();
            e.HasIndex(m => m.SentAt);
            e.Ignore(m => m.Event);
            e.Ignore(m => m.Lane);
        });
        return modelBuilder;
    }

    /// <summary>Queues an event to be published once the surrounding SaveChanges commits.</summary>
    public static void Publish<TMessage>(this DbContext db, TMessage message)
        where TMessage : class
    {
        var row = new OutboxMessage
        {
            MessageId = NewId.NextGuid(),
            MessageType = typeof(TMessage).AssemblyQualifiedName!,
            Body = JsonSerializer.Serialize(message),
            CreatedAt = DateTimeOffset.UtcNow,
            Event = message,
            Lane = OutboxLane<TMessage>.Of(message),
        };
        db.Set<OutboxMessage>().Add(row);
        OutboxSaveInterceptor.Track(db, row);
    }

    /// <summary>Starts the relay that publishes this service's outbox.</summary>
    public static IServiceCollection AddOutboxRelay<TContext>(this IServiceCollection services)
        where TContext : DbContext =>
        services.AddHostedService<OutboxRelay<TContext>>();
}

/// <summary>The lane of an event: its StudentId when it has one, so one student's events keep their order.</summary>
internal static class OutboxLane<TMessage>
{
    private static readonly Func<TMessage, string?> Read = typeof(TMessage).GetProperty("StudentId") is { } property && property.PropertyType == typeof(string)
        ? message => (string?)property.GetValue(message)
        : _ => null;

    public static string Of(TMessage message) => Read(message) ?? "";
}

internal static class OutboxLane
{
    /// <summary>The lane of a row: known while the event is in memory, otherwise read back from its JSON.</summary>
    public static string Of(OutboxMessage row)
    {
        if (row.Lane is not null)
        {
            return row.Lane;
        }
        using var json = JsonDocument.Parse(row.Body);
        return json.RootElement.TryGetProperty("StudentId", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString()! : "";
    }
}

/// <summary>
/// Events committed in this process, handed to the relay in memory so that it publishes them straight
/// after the commit without reading them back. Bounded: when it is full (broker down for long), the
/// relay falls back to reading the table, which holds every unsent event anyway.
/// </summary>
public sealed class OutboxQueue
{
    public const int Capacity = 50_000;
    private readonly Channel<OutboxMessage> _committed = Channel.CreateBounded<OutboxMessage>(
        new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
    private readonly SemaphoreSlim _signal = new(0);
    private volatile bool _overflowed;

    internal void Committed(List<OutboxMessage> rows)
    {
        foreach (var row in rows)
        {
            if (!_committed.Writer.TryWrite(row))
            {
                _overflowed = true;
                break;
            }
        }
        Notify();
    }

    // Wakes the relay if it is waiting.
    private void Notify()
    {
        if (_signal.CurrentCount == 0)
        {
            _signal.Release();
        }
    }

    /// <summary>True once if events were dropped from memory since the last call (they are still in the table).</summary>
    internal bool TakeOverflow()
    {
        var overflowed = _overflowed;
        _overflowed = false;
        return overflowed;
    }

    internal List<OutboxMessage> Drain(int max)
    {
        var rows = new List<OutboxMessage>();
        while (rows.Count < max && _committed.Reader.TryRead(out var row))
        {
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>Waits until events are committed or <paramref name="timeout"/> passes.</summary>
    internal async Task WaitAsync(TimeSpan timeout, CancellationToken ct)
    {
        if (_committed.Reader.Count > 0)
        {
            return;
        }
        await _signal.WaitAsync(timeout, ct);
    }
}

/// <summary>
/// What the relay published and by which path (metric <c>beacon.outbox.published</c>, tag <c>path</c>): from memory
/// is the normal case; a steady flow from the table or of strays means events are not coming through memory.
/// </summary>
public sealed class OutboxStatistics
{
    public const string MeterName = "Beacon.Outbox";
    private readonly Counter<long> _published;
    private long _fromMemory, _fromTable, _strays;

    public OutboxStatistics(IMeterFactory meters) =>
        _published = meters.Create(MeterName).CreateCounter<long>("beacon.outbox.published", unit: "{event}", description: "Outbox events published, by path");

    public long FromMemory => Interlocked.Read(ref _fromMemory);
    public long FromTable => Interlocked.Read(ref _fromTable);
    public long Strays => Interlocked.Read(ref _strays);

    internal void Published(string path, int count)
    {
        if (count == 0)
        {
            return;
        }
        _ = path switch
        {
            "memory" => Interlocked.Add(ref _fromMemory, count),
            "table" => Interlocked.Add(ref _fromTable, count),
            _ => Interlocked.Add(ref _strays, count),
        };
        _published.Add(count, new KeyValuePair<string, object?>("path", path));
    }
}

internal sealed class OutboxSaveInterceptor(OutboxQueue queue) : SaveChangesInterceptor, IDbTransactionInterceptor
{
    // Per context (used by one thread at a time): events added and not saved yet, and events saved but not
    // yet committed (inside an explicit transaction).
    private sealed class Pending
    {
        public List<OutboxMessage> Added { get; } = [];
        public List<OutboxMessage> Saved { get; } = [];
    }

    private static readonly ConditionalWeakTable<DbContext, Pending> Contexts = [];

    public static void Track(DbContext db, OutboxMessage row) => Contexts.GetOrCreateValue(db).Added.Add(row);

    public override async ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        Saved(eventData.Context);
        return await base.SavedChangesAsync(eventData, result, cancellationToken);
    }

    public override int SavedChanges(SaveChangesCompletedEventData eventData, int result)
    {
        Saved(eventData.Context);
        return base.SavedChanges(eventData, result);
    }

    // Only now do the rows carry their sequence numbers (EF sets generated keys after its own commit), so
    // SaveChanges' own transaction hands them over here; an explicit transaction does at its commit.
    private void Saved(DbContext? context)
    {
        if (context is null || !Contexts.TryGetValue(context, out var pending))
        {
            return;
        }
        pending.Saved.AddRange(pending.Added);
        pending.Added.Clear();
        if (context.Database.CurrentTransaction is null)
        {
            HandOff(context);
        }
    }

    private void HandOff(DbContext? context)
    {
        if (context is not null && Contexts.TryGetValue(context, out var pending) && pending.Saved.Count > 0)
        {
            queue.Committed([.. pending.Saved]);
            pending.Saved.Clear();
        }
    }

    public void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) => HandOff(eventData.Context);

    public Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        HandOff(eventData.Context);
        return Task.CompletedTask;
    }

    public void TransactionRolledBack(DbTransaction transaction, TransactionEndEventData eventData) => Forget(eventData.Context);

    public Task TransactionRolledBackAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Forget(eventData.Context);
        return Task.CompletedTask;
    }

    private static void Forget(DbContext? context)
    {
        if (context is not null && Contexts.TryGetValue(context, out var pending))
        {
            pending.Saved.Clear();
        }
    }
}

/// <summary>
/// Publishes the outbox. While it keeps up, it publishes the events handed over in memory right after
/// each commit and marks them sent with one statement per batch, so the intake's single SQLite writer
/// sees one short write per batch instead of a read and a write per event. After a start, a failed
/// publish or an overflow it reads unsent rows from the table, oldest first, until none are left, so
/// one student's events still go out in order; only then does it trust memory again.
/// </summary>
public sealed class OutboxRelay<TContext>(IServiceScopeFactory scopes, IBus bus, OutboxQueue queue, OutboxStatistics statistics, ILogger<OutboxRelay<TContext>> logger)
    : BackgroundService
    where TContext : DbContext
{
    private const int BatchSize = 1000;
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    private bool _caughtUp;

    // Highest sequence a table read published: memory's copies of those rows are skipped.
    private long _tableHighWater;

    // Highest sequence in the table at the last look for strays, and when that was.
    private long _strayWatermark;
    private DateTime _lastStrayCheck = DateTime.UtcNow;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (queue.TakeOverflow())
                {
                    _caughtUp = false;
                }
                if (!_caughtUp)
                {
                    // Everything queued so far is committed, so this read (or the next) covers it.
                    queue.Drain(int.MaxValue);
                    _caughtUp = await PublishPendingAsync(stoppingToken) < BatchSize;
                    continue;
                }
                var committed = queue.Drain(BatchSize);
                if (committed.Count > 0)
                {
                    var fresh = committed.Where(m => m.Sequence > _tableHighWater).OrderBy(m => m.Sequence).ToList();
                    await PublishAndMarkAsync(fresh, stoppingToken);
                    statistics.Published("memory", fresh.Count);
                    continue;
                }
                // Only with memory drained: a stray published now cannot overtake a queued event of its student.
                if (DateTime.UtcNow - _lastStrayCheck > PollInterval)
                {
                    await PublishStraysAsync(stoppingToken);
                }
                await queue.WaitAsync(PollInterval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Broker or database down: the rows stay unsent and are read from the table again; nothing is dropped.
                _caughtUp = false;
                logger.LogWarning(ex, "Outbox relay could not publish; retrying");
                await Task.Delay(PollInterval, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>Publishes up to one batch of unsent rows from the table, oldest first; returns how many it read.</summary>
    public async Task<int> PublishPendingAsync(CancellationToken ct)
    {
        var pending = await ReadUnsentAsync(upTo: long.MaxValue, ct);
        await PublishAndMarkAsync(pending, ct);
        statistics.Published("table", pending.Count);
        if (pending.Count > 0)
        {
            _tableHighWater = Math.Max(_tableHighWater, pending[^1].Sequence);
        }
        return pending.Count;
    }

    /// <summary>
    /// With memory drained, a row that was already in the table at the last look and is still unsent never came
    /// through memory: another replica's, left when it stopped, or (PostgreSQL) one whose transaction committed late.
    /// </summary>
    private async Task PublishStraysAsync(CancellationToken ct)
    {
        _lastStrayCheck = DateTime.UtcNow;
        var strays = await ReadUnsentAsync(upTo: _strayWatermark, ct);
        await using (var scope = scopes.CreateAsyncScope())
        {
            _strayWatermark = await scope.ServiceProvider.GetRequiredService<TContext>().Set<OutboxMessage>().MaxAsync(m => (long?)m.Sequence, ct) ?? 0;
        }
        await PublishAndMarkAsync(strays, ct);
        statistics.Published("stray", strays.Count);
    }

    private async Task<List<OutboxMessage>> ReadUnsentAsync(long upTo, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<TContext>().Set<OutboxMessage>().AsNoTracking()
            .Where(m => m.SentAt == null && m.Sequence <= upTo)
            .OrderBy(m => m.Sequence)
            .Take(BatchSize)
            .ToListAsync(ct);
    }

    private async Task PublishAndMarkAsync(List<OutboxMessage> rows, CancellationToken ct)
    {
        if (rows.Count == 0)
        {
            return;
        }
        var sent = new ConcurrentBag<long>();
        Exception? failure = null;
        try
        {
            // Pipelined: one student's events go out in order, different students' side by side, so the
            // batch costs a few round trips instead of one per event.
            await Task.WhenAll(rows.GroupBy(OutboxLane.Of).Select(async lane =>
            {
                foreach (var row in lane)
                {
                    var (message, type) = row.Event is { } inMemory ? (inMemory, inMemory.GetType()) : row.ToEvent();
                    await bus.Publish(message, type, ctx => ctx.MessageId = row.MessageId, ct);
                    sent.Add(row.Sequence);
                }
            }));
        }
        catch (Exception ex)
        {
            failure = ex;
        }
        // One statement for the batch; if some publishes failed, the ones that went out are still marked.
        await using (var scope = scopes.CreateAsyncScope())
        {
            var outbox = scope.ServiceProvider.GetRequiredService<TContext>().Set<OutboxMessage>();
            var ids = sent.ToList();
            var now = DateTimeOffset.UtcNow;
            if (ids.Count > 0)
            {
                await outbox.Where(m => ids.Contains(m.Sequence))
                    .ExecuteUpdateAsync(s => s.SetProperty(m => m.SentAt, now).SetProperty(m => m.Attempts, m => m.Attempts + 1), CancellationToken.None);
            }
            if (failure is not null)
            {
                var failed = rows.Select(r => r.Sequence).Except(ids).ToList();
                var error = failure.GetBaseException().Message;
                await outbox.Where(m => failed.Contains(m.Sequence))
                    .ExecuteUpdateAsync(s => s.SetProperty(m => m.Attempts, m => m.Attempts + 1).SetProperty(m => m.LastError, error), CancellationToken.None);
            }
        }
        if (failure is not null)
        {
            ExceptionDispatchInfo.Throw(failure);
        }
    }
}
