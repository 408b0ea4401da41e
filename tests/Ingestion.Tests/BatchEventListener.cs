using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Beacon.Testing;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// A plain queue bound to the AttendanceBatchRecorded exchange, read with RabbitMQ.Client: the records every batch
/// event carried, in arrival order. Like the services' inbox it skips a message id it has seen, so a duplicate
/// delivery (at-least-once) is counted but not applied twice.
/// </summary>
public sealed class BatchEventListener : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, byte> _seen = new();
    private IConnection _connection = null!;
    private IChannel _channel = null!;

    public ConcurrentQueue<(string StudentId, string Date, string Status)> Records { get; } = new();

    public int Duplicates => _duplicates;
    private int _duplicates;

    public static async Task<BatchEventListener> StartAsync()
    {
        var listener = new BatchEventListener();
        listener._connection = await new ConnectionFactory { Uri = new Uri(TestEnvironment.RabbitMq) }.CreateConnectionAsync();
        listener._channel = await listener._connection.CreateChannelAsync();
        const string exchange = "Beacon.Contracts.Events:AttendanceBatchRecorded";
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
        foreach (var record in envelope.RootElement.GetProperty("message").GetProperty("records").EnumerateArray())
        {
            Records.Enqueue((record.GetProperty("studentId").GetString()!, record.GetProperty("date").GetString()!, record.GetProperty("status").GetString()!));
        }
    }

    public int CountFor(Func<string, bool> student) => Records.Count(r => student(r.StudentId));

    public async ValueTask DisposeAsync()
    {
        await _channel.DisposeAsync();
        await _connection.DisposeAsync();
    }
}

/// <summary>Ingestion hosted against the real broker, with a <see cref="BatchEventListener"/> on its batch events.</summary>
public abstract class IngestionWithBatchEvents : IAsyncLifetime
{
    protected ServiceFactory<Program> Service { get; } = new();

    protected BatchEventListener Events { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Service.WaitUntilReadyAsync();
        Events = await BatchEventListener.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await Events.DisposeAsync();
        await Service.DisposeAsync();
    }
}
