using Beacon.Contracts.Events;
using Beacon.Governance;
using Beacon.Mastery.Domain;
using Beacon.Mastery.Storage;
using Beacon.Messaging;
using MassTransit;

namespace Beacon.Mastery.Consumers;

/// <summary>
/// Applies answers to the students' mastery (see <see cref="MasteryTracker"/>), in the order given. Erased students'
/// late answers are dropped here: the tombstone filter sees a batch message as one without a StudentId. The caller saves.
/// </summary>
public sealed class AnswerUpdates(MasteryTracker tracker, IErasedStudents erased) : IRecordsHandler<ItemResponseRecorded>
{
    public async Task ApplyAsync(IReadOnlyList<ItemResponseRecorded> records, CancellationToken ct) =>
        await tracker.ApplyBatchAsync(await erased.WithoutErasedAsync(records, a => a.StudentId, ct), ct);
}

/// <summary>Each single recorded answer in its own transaction: other producers, replays of older logs.</summary>
public sealed class ItemResponseRecordedConsumer(MasteryDbContext db, AnswerUpdates answers)
    : SingleRecordConsumer<ItemResponseRecorded>(db, answers);

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
/// Ingestion's batches of answers, one message at a time and in order (a student's later answers never overtake
/// earlier ones, two batches never insert the same mastery row at once), each applied once (inbox) in one transaction.
/// </summary>
public sealed class ItemResponseBatchRecordedConsumer(MasteryDbContext db, AnswerUpdates answers, TimeProvider clock)
    : RecordBatchConsumer<ItemResponseBatchRecorded, ItemResponseRecorded>(db, answers, clock, batch => batch.Records);
