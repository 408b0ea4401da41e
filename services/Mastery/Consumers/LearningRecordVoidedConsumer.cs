using Beacon.Contracts.Events;
using Beacon.Mastery.Domain;
using Beacon.Mastery.Storage;
using MassTransit;

namespace Beacon.Mastery.Consumers;

/// <summary>A voided answer leaves the student's mastery (see <see cref="VoidedAnswers"/>), in one transaction.</summary>
public sealed class LearningRecordVoidedConsumer(MasteryDbContext db, VoidedAnswers voided) : IConsumer<LearningRecordVoided>
{
    public async Task Consume(ConsumeContext<LearningRecordVoided> context)
    {
        await voided.ApplyAsync(context.Message, context.CancellationToken);
        await db.SaveChangesAsync(context.CancellationToken);
    }
}

public sealed class LearningRecordVoidedConsumerDefinition : ConsumerDefinition<LearningRecordVoidedConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<LearningRecordVoidedConsumer> consumerConfigurator, IRegistrationContext context) =>
        // One student's voidings one at a time; a race with an answer batch is settled by the mastery row's version (a retry).
        consumerConfigurator.Message<LearningRecordVoided>(m => m.UsePartitioner(8, ctx => Beacon.Messaging.Partitioning.ForStudent(ctx.Message.StudentId)));
}
