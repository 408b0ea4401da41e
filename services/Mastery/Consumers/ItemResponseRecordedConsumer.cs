using Beacon.Contracts.Events;
using Beacon.Mastery.Domain;
using Beacon.Mastery.Storage;
using Beacon.ServiceDefaults;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.Mastery.Consumers;

/// <summary>Updates the student's mastery of each skill the item practises and publishes the change.</summary>
public sealed class ItemResponseRecordedConsumer(MasteryDbContext db, IOptions<MasteryOptions> options, TimeProvider clock)
    : IConsumer<ItemResponseRecorded>
{
    public async Task Consume(ConsumeContext<ItemResponseRecorded> context)
    {
        var answer = context.Message;
        var ct = context.CancellationToken;
        if (await db.AppliedResponses.AnyAsync(r => r.StudentId == answer.StudentId && r.ItemId == answer.ItemId && r.AttemptNumber == answer.AttemptNumber, ct))
        {
            return;
        }
        db.AppliedResponses.Add(new AppliedResponse { StudentId = answer.StudentId, ItemId = answer.ItemId, AttemptNumber = answer.AttemptNumber });
        var parameters = options.Value.DefaultParameters;
        var now = clock.GetUtcNow();
        foreach (var skillId in answer.SkillIds.Distinct())
        {
            var mastery = await db.Mastery.FindAsync([answer.StudentId, skillId], ct);
            if (mastery is null)
            {
                mastery = db.Mastery.Add(new StudentSkillMastery { StudentId = answer.StudentId, SkillId = skillId, ProbabilityMastered = parameters.PriorKnowledge }).Entity;
            }
            mastery.ProbabilityMastered = KnowledgeTracing.Update(mastery.ProbabilityMastered, answer.Correct, parameters);
            mastery.Attempts++;
            mastery.UpdatedAt = now;
            db.Publish(new MasteryChanged(answer.StudentId, skillId, mastery.ProbabilityMastered,
                mastery.ProbabilityMastered >= options.Value.MasteredAt, mastery.Attempts, now));
        }
        await db.SaveChangesAsync(ct);
    }
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
