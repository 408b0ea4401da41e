using System.Text.Json;
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
        });
        return modelBuilder;
    }

    /// <summary>Queues an event to be published once the surrounding SaveChanges commits.</summary>
    public static void Publish<TMessage>(this DbContext db, TMessage message)
        where TMessage : class
    {
        db.Set<OutboxMessage>().Add(new OutboxMessage
        {
            MessageId = NewId.NextGuid(),
            MessageType = typeof(TMessage).AssemblyQualifiedName!,
            Body = JsonSerializer.Serialize(message),
            CreatedAt = DateTimeOffset.UtcNow,
        });
    }

    /// <summary>Starts the relay that publishes this service's outbox.</summary>
    public static IServiceCollection AddOutboxRelay<TContext>(this IServiceCollection services)
        where TContext : DbContext =>
        services.AddHostedService<OutboxRelay<TContext>>();
}

/// <summary>Wakes the relay as soon as a transaction with events commits, so publishing adds no polling delay.</summary>
public sealed class OutboxSignal
{
    private readonly SemaphoreSlim _signal = new(0);

    public void Notify()
    {
        if (_signal.CurrentCount == 0)
        {
            _signal.Release();
        }
    }

    public Task WaitAsync(TimeSpan timeout, CancellationToken ct) => _signal.WaitAsync(timeout, ct);
}

internal sealed class OutboxSaveInterceptor(OutboxSignal signal) : SaveChangesInterceptor
{
    public override async ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        NotifyIfOutboxChanged(eventData.Context);
        return await base.SavedChangesAsync(eventData, result, cancellationToken);
    }

    public override int SavedChanges(SaveChangesCompletedEventData eventData, int result)
    {
        NotifyIfOutboxChanged(eventData.Context);
        return base.SavedChanges(eventData, result);
    }

    private void NotifyIfOutboxChanged(DbContext? context)
    {
        // Inside an explicit transaction the rows are not visible yet; the poll picks them up shortly.
        if (context is not null && context.Database.CurrentTransaction is null)
        {
            signal.Notify();
        }
    }
}

public sealed class OutboxRelay<TContext>(IServiceScopeFactory scopes, IBus bus, OutboxSignal signal, ILogger<OutboxRelay<TContext>> logger)
    : BackgroundService
    where TContext : DbContext
{
    private const int BatchSize = 200;
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var published = await PublishPendingAsync(stoppingToken);
                if (published < BatchSize)
                {
                    await signal.WaitAsync(PollInterval, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Broker or database down: keep the rows and try again; nothing is dropped.
                logger.LogWarning(ex, "Outbox relay could not publish; retrying");
                await Task.Delay(PollInterval, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>Events about one student keep their order; events without a student id share one lane.</summary>
    private static string OrderingKey(OutboxMessage message)
    {
        using var json = JsonDocument.Parse(message.Body);
        return json.RootElement.TryGetProperty("StudentId", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString()! : "";
    }

    public async Task<int> PublishPendingAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        var pending = await db.Set<OutboxMessage>()
            .Where(m => m.SentAt == null)
            .OrderBy(m => m.Sequence)
            .Take(BatchSize)
            .ToListAsync(ct);
        try
        {
            // Pipelined: one student's events go out in order, different students' side by side, so the
            // batch costs a few round trips instead of one per event.
            await Task.WhenAll(pending.GroupBy(OrderingKey).Select(async group =>
            {
                foreach (var message in group)
                {
                    var (body, type) = message.ToEvent();
                    message.Attempts++;
                    await bus.Publish(body, type, ctx => ctx.MessageId = message.MessageId, ct);
                    message.SentAt = DateTimeOffset.UtcNow;
                }
            }));
        }
        finally
        {
            // One commit for the batch; if some publishes failed, the ones that went out are still marked.
            await db.SaveChangesAsync(CancellationToken.None);
        }
        return pending.Count;
    }
}
