using Beacon.Contracts.Events;
using Beacon.Interventions.Storage;
using Beacon.Messaging;
using MassTransit;

namespace Beacon.Interventions.Consumers;

/// <summary>
/// Keeps Interventions' copy of a section (<see cref="SectionRosters.ReplaceAsync"/>), to check that a group intervention's students are in a
/// section the teacher teaches. An ended section is removed; its group interventions stay, with their students.
/// </summary>
public sealed class SectionRosterRecordedConsumer(InterventionsDbContext db) : IConsumer<SectionRosterRecorded>
{
    public Task Consume(ConsumeContext<SectionRosterRecorded> context)
    {
        var m = context.Message;
        return SectionRosters.ReplaceAsync(db, m.SectionId, m.SchoolId, m.Title, m.TeacherIds, m.StudentIds, m.Ended, m.OccurredAt, context.CancellationToken);
    }
}
