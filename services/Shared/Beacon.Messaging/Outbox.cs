using System.Data.Common;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry.Metrics;

namespace Beacon.Messaging;

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
        var row = Row(message);
        db.Set<OutboxMessage>().Add(row);
        OutboxSaveInterceptor.Track(db, row);
    }

    /// <summary>The outbox row of an event, as <see cref="Publish{TMessage}"/> and <see cref="OutboxWrites.PublishAllAsync{TMessage}"/> store it.</summary>
    internal static OutboxMessage Row<TMessage>(TMessage message)
        where TMessage : class => new()
        {
            MessageId = NewId.NextGuid(),
            MessageType = typeof(TMessage).AssemblyQualifiedName!,
            Body = JsonSerializer.Serialize(message),
            CreatedAt = DateTimeOffset.UtcNow,
            Event = message,
            Lane = OutboxLane<TMessage>.Of(message),
        };

    /// <summary>
    /// The outbox of this service's database: the save interceptor that hands committed events over in memory
    /// (every context of the service gets it through AddServiceDatabase), the relay that publishes them, its metrics.
    /// </summary>
    public static IServiceCollection AddOutboxRelay<TContext>(this IServiceCollection services)
        where TContext : DbContext
    {
        services.TryAddSingleton<OutboxQueue>();
        services.TryAddSingleton<OutboxStatistics>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IInterceptor, OutboxSaveInterceptor>());
        services.ConfigureOpenTelemetryMeterProvider(m => m.AddMeter(OutboxStatistics.MeterName));
        return services.AddHostedService<OutboxRelay<TContext>>();
    }
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

        /// <summary>The transaction the saved rows wait for.</summary>
        public DbTransaction? Transaction { get; private set; }

        /// <summary>
        /// Saved rows wait for their own transaction only: one disposed without a commit or an explicit rollback (a retry
        /// that dropped it) tells no interceptor, so its rows are dropped here, before rows of the next one join them.
        /// </summary>
        public List<OutboxMessage> SavedIn(DbTransaction? transaction)
        {
            if (!ReferenceEquals(transaction, Transaction))
            {
                Saved.Clear();
                Transaction = transaction;
            }
            return Saved;
        }
    }

    private static readonly ConditionalWeakTable<DbContext, Pending> Contexts = [];

    public static void Track(DbContext db, OutboxMessage row) => Contexts.GetOrCreateValue(db).Added.Add(row);

    /// <summary>
    /// Rows written inside the context's open transaction without the change tracker (<see cref="OutboxWrites"/>): handed
    /// over when that transaction commits, forgotten when it rolls back, like rows saved by SaveChanges inside it.
    /// </summary>
    public static void Written(DbContext db, IEnumerable<OutboxMessage> rows) =>
        Contexts.GetOrCreateValue(db).SavedIn(db.Database.CurrentTransaction?.GetDbTransaction()).AddRange(rows);

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
        // Only rows this save stored: a row left over from a failed save that the caller then dropped from its
        // context (ChangeTracker.Clear before a retry) was never written, and handing it over would publish an
        // event the database does not hold. A row still Added waits for the save that stores it.
        var stored = pending.Added.Where(row => context.Entry(row).State == EntityState.Unchanged).ToList();
        pending.Added.RemoveAll(row => context.Entry(row).State is EntityState.Unchanged or EntityState.Detached);
        pending.SavedIn(context.Database.CurrentTransaction?.GetDbTransaction()).AddRange(stored);
        if (context.Database.CurrentTransaction is null)
        {
            HandOff(context, null);
        }
    }

    private void HandOff(DbContext? context, DbTransaction? committed)
    {
        if (context is not null && Contexts.TryGetValue(context, out var pending) && pending.SavedIn(committed) is { Count: > 0 } saved)
        {
            queue.Committed([.. saved]);
            saved.Clear();
        }
    }

    public void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) => HandOff(eventData.Context, transaction);

    public Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        HandOff(eventData.Context, transaction);
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
