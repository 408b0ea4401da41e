using Beacon.Contracts.Events;
using Beacon.Mastery.Domain;
using Beacon.Mastery.Storage;
using Beacon.ServiceDefaults;
using MassTransit;

namespace Beacon.Mastery.Consumers;

/// <summary>Applies each single recorded answer to the student's mastery (see <see cref="MasteryTracker"/>): other producers, replays of older logs.</summary>
public sealed class ItemResponseRecordedConsumer(MasteryTracker tracker) : IConsumer<ItemResponseRecorded>
{
    public Task Consume(ConsumeContext<ItemResponseRecorded> context) => tracker.ApplyAsync(context.Message, context.CancellationToken);
}

public sealed class ItemResponseRecordedConsumerDefinition : ConsumerDefinition<ItemResponseRecordedConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<ItemResponseRecordedConsumer> consumerConfigurator, IRegistrationContext context)
    {
        // Mastery depends on the order of a student's answers: one student at a time.
        consumerConfigurator.Message<ItemResponseRecorded>(m => m.UsePartitioner(8, ctx => Partitioning.ForStudent(ctx.Message.StudentId)));
    }
}

/// <summary>
/// Ingestion's batches of answers, one message at a time and in order, each applied once (inbox) in one
/// transaction. Erased students' late answers are dropped here: the tombstone filter sees a batch without a StudentId.
/// </summary>
public sealed class ItemResponseBatchRecordedConsumer(MasteryDbContext db, MasteryTracker tracker, IErasedStudents erased, TimeProvider clock)
    : IConsumer<ItemResponseBatchRecorded>
{
    public Task Consume(ConsumeContext<ItemResponseBatchRecorded> context) =>
        db.ConsumeOnceAsync(context, clock.GetUtcNow(), async () =>
            await tracker.ApplyBatchAsync(await erased.WithoutErasedAsync(context.Message.Records, a => a.StudentId, context.CancellationToken), context.CancellationToken));
}

public sealed class ItemResponseBatchRecordedConsumerDefinition : ConsumerDefinition<ItemResponseBatchRecordedConsumer>
{
    // One message at a time: a student's later answers never overtake earlier ones, and two batches never
    // insert the same mastery row at once.
    public ItemResponseBatchRecordedConsumerDefinition() => ConcurrentMessageLimit = 1;
}
