using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Beacon.Testing;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// A plain queue bound to one of Ingestion's batch event exchanges (AttendanceBatchRecorded, ItemResponseBatchRecorded),
/// read with RabbitMQ.Client: the records each batch event carried, per event and all together, in arrival order.
/// Like the services' inbox it skips a message id it has seen, so a duplicate delivery (at-least-once) is counted
/// but not applied twice.
/// </summary>
public sealed class BatchEventListener<TRecord> : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, byte> _seen = new();
    private readonly Func<JsonElement, TRecord> _read;
    private IConnection _connection = null!;
    private IChannel _channel = null!;

    private BatchEventListener(Func<JsonElement, TRecord> read) => _read = read;

    /// <summary>Every record received, in arrival order.</summary>
    public ConcurrentQueue<TRecord> Records { get; } = new();

    /// <summary>The records of each event received, one list per event, in arrival order.</summary>
    public ConcurrentQueue<IReadOnlyList<TRecord>> Events { get; } = new();

    public int Duplicates => _duplicates;
    private int _duplicates;

    /// <param name="busScope">The publishing service's <see cref="ServiceFactory{TProgram}.BusScope"/> (its exchanges' prefix).</param>
    /// <param name="eventType">The event's type name, for example AttendanceBatchRecorded.</param>
    /// <param name="read">Reads one element of the event's <c>records</c> list.</param>
    public static async Task<BatchEventListener<TRecord>> StartAsync(string busScope, string eventType, Func<JsonElement, TRecord> read)
    {
        var listener = new BatchEventListener<TRecord>(read);
        listener._connection = await new ConnectionFactory { Uri = new Uri(TestEnvironment.RabbitMq) }.CreateConnectionAsync();
        listener._channel = await listener._connection.CreateChannelAsync();
        var exchange = $"{busScope}.Beacon.Contracts.Events:{eventType}";
        await listener._channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true);
        var queue = (await listener._channel.QueueDeclareAsync(queue: "", durable: false, exclusive: true, autoDelete: true)).QueueName;
        await listener._channel.QueueBindAsync(queue, exchange, "");
        var consumer = new AsyncEventingBasicConsumer(listener._channel);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            listener.Receive(delivery.Body.Span);
            return Task.CompletedTask;
        };
        await listener._channel.BasicConsumeAsync(queue, autoAck: true, consumer);
        return listener;
    }

    private void Receive(ReadOnlySpan<byte> body)
    {
        using var envelope = JsonDocument.Parse(Encoding.UTF8.GetString(body));
        if (!_seen.TryAdd(envelope.RootElement.GetProperty("messageId").GetString()!, 0))
        {
            Interlocked.Increment(ref _duplicates);
            return;
        }
        List<TRecord> records = [.. envelope.RootElement.GetProperty("message").GetProperty("records").EnumerateArray().Select(_read)];
        Events.Enqueue(records);
        foreach (var record in records)
        {
            Records.Enqueue(record);
        }
    }

    /// <summary>Forgets what was received (before a replay).</summary>
    public void Clear()
    {
        Records.Clear();
        Events.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        await _channel.DisposeAsync();
        await _connection.DisposeAsync();
    }
}

/// <summary>Ingestion hosted against the real broker, with a listener on its attendance batch events.</summary>
public abstract class IngestionWithBatchEvents : IAsyncLifetime
{
    protected ServiceFactory<Program> Service { get; } = new();

    protected BatchEventListener<(string StudentId, string Date, string Status)> Events { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Service.WaitUntilReadyAsync();
        Events = await BatchEventListener<(string StudentId, string Date, string Status)>.StartAsync(Service.BusScope, "AttendanceBatchRecorded",
            r => (r.GetProperty("studentId").GetString()!, r.GetProperty("date").GetString()!, r.GetProperty("status").GetString()!));
    }

    public async Task DisposeAsync()
    {
        await Events.DisposeAsync();
        await Service.DisposeAsync();
    }
}
