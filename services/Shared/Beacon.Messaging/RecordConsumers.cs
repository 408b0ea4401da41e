using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Messaging;

/// <summary>
/// Applies records of one kind (attendance days, answers) to a service's state in one unit of work; the caller
/// saves. Producers publish such records alone or many to a message (Ingestion's batches), and both must change
/// the state the same way, so a service writes the work once and takes both kinds of message with the consumers
/// below: <see cref="GatheredRecordsConsumer{TRecord}"/> or <see cref="SingleRecordConsumer{TRecord}"/> for records
/// alone, <see cref="RecordBatchConsumer{TBatch, TRecord}"/> for batches. Each stays a class of the service's own
/// (its name is its queue's name).
/// </summary>
public interface IRecordsHandler<TRecord>
{
    Task ApplyAsync(IReadOnlyList<TRecord> records, CancellationToken ct);
}

/// <summary>
/// A handler that is told, before it applies records, when each was sent (the bus's SentTime header; null when a producer
/// did not set it): what it raises can then say how long its signal waited in the queue. The consumers below tell it.
/// </summary>
public interface IRecordsSentTimes<TRecord>
{
    void Sent(IEnumerable<(TRecord Record, DateTime? SentTime)> records);
}

/// <summary>Records published alone, gathered into batches here (see <see cref="GatheredRecordsDefinition{TConsumer}"/>), one transaction a batch.</summary>
public abstract class GatheredRecordsConsumer<TRecord>(DbContext db, IRecordsHandler<TRecord> handler) : IConsumer<Batch<TRecord>>
    where TRecord : class
{
    public async Task Consume(ConsumeContext<Batch<TRecord>> context)
    {
        (handler as IRecordsSentTimes<TRecord>)?.Sent(context.Message.Select(m => (m.Message, m.SentTime)));
        await handler.ApplyAsync([.. context.Message.Select(m => m.Message)], context.CancellationToken);
        await db.SaveChangesAsync(context.CancellationToken);
    }
}

/// <summary>Records published alone, one transaction each (where the order of one student's records matters more than throughput).</summary>
public abstract class SingleRecordConsumer<TRecord>(DbContext db, IRecordsHandler<TRecord> handler) : IConsumer<TRecord>
    where TRecord : class
{
    public async Task Consume(ConsumeContext<TRecord> context)
    {
        (handler as IRecordsSentTimes<TRecord>)?.Sent([(context.Message, context.SentTime)]);
        await handler.ApplyAsync([context.Message], context.CancellationToken);
        await db.SaveChangesAsync(context.CancellationToken);
    }
}

/// <summary>
/// Batches of records in one message, applied once each (inbox): a batch that holds a day and its later
/// correction, applied again after a crash between commit and acknowledgement, would move the day back and forth.
/// </summary>
public abstract class RecordBatchConsumer<TBatch, TRecord>(DbContext db, IRecordsHandler<TRecord> handler, TimeProvider clock,
    Func<TBatch, IReadOnlyList<TRecord>> records) : IConsumer<TBatch>
    where TBatch : class
{
    public Task Consume(ConsumeContext<TBatch> context) =>
        db.ConsumeOnceAsync(context, clock.GetUtcNow(), () =>
        {
            var batch = records(context.Message);
            (handler as IRecordsSentTimes<TRecord>)?.Sent(batch.Select(r => (r, context.SentTime)));
            return handler.ApplyAsync(batch, context.CancellationToken);
        });
}

/// <summary>
/// One batch at a time, so two batches never apply the same student's records at once (no lost alert, no duplicate
/// key); a batch closes at 500 records or 100 ms after its first.
/// </summary>
public sealed class GatheredRecordsDefinition<TConsumer> : ConsumerDefinition<TConsumer>
    where TConsumer : class, IConsumer
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<TConsumer> consumerConfigurator, IRegistrationContext context) =>
        consumerConfigurator.Options<BatchOptions>(o => o.SetMessageLimit(500).SetTimeLimit(TimeSpan.FromMilliseconds(100)).SetConcurrencyLimit(1));
}

/// <summary>
/// One message at a time: two messages never apply the same student's records at once, and a student's later
/// records never overtake earlier ones. Batch consumers use it, and so do consumers of single events that
/// re-evaluate a student's state.
/// </summary>
public sealed class OneAtATimeDefinition<TConsumer> : ConsumerDefinition<TConsumer>
    where TConsumer : class, IConsumer
{
    public OneAtATimeDefinition() => ConcurrentMessageLimit = 1;
}

public static class RecordConsumerRegistration
{
    /// <summary>
    /// A record kind's two consumers: records alone (gathered into batches unless <paramref name="singleDefinition"/>
    /// says otherwise) and batches of them. Call inside AddServiceBus.
    /// </summary>
    public static IBusRegistrationConfigurator AddRecordConsumers<TSingle, TBatch>(this IBusRegistrationConfigurator bus, Type? singleDefinition = null)
        where TSingle : class, IConsumer
        where TBatch : class, IConsumer
    {
        bus.AddConsumer<TSingle>(singleDefinition ?? typeof(GatheredRecordsDefinition<TSingle>));
        bus.AddConsumer<TBatch>(typeof(OneAtATimeDefinition<TBatch>));
        return bus;
    }
}
