using Beacon.Contracts.Events;
using Beacon.Mastery.Domain;
using Beacon.ServiceDefaults;
using MassTransit;

namespace Beacon.Mastery.Consumers;

/// <summary>Applies each recorded answer to the student's mastery (see <see cref="MasteryTracker"/>).</summary>
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
