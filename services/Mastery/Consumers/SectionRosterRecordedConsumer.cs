using Beacon.Contracts.Events;
using Beacon.Mastery.Storage;
using Beacon.Messaging;
using MassTransit;

namespace Beacon.Mastery.Consumers;

/// <summary>
/// Keeps Mastery's copy of a section and its members (<see cref="SectionRosters.ReplaceAsync"/>), for the teacher's week.
/// </summary>
public sealed class SectionRosterRecordedConsumer(MasteryDbContext db) : IConsumer<SectionRosterRecorded>
{
    public Task Consume(ConsumeContext<SectionRosterRecorded> context)
    {
        var m = context.Message;
        return SectionRosters.ReplaceAsync(db, m.SectionId, m.SchoolId, m.Title, m.TeacherIds, m.StudentIds, m.Ended, m.OccurredAt, context.CancellationToken);
    }
}
