using Beacon.Contracts.Events;
using Beacon.Interventions.Domain;
using Beacon.Interventions.Storage;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Interventions.Consumers;

/// <summary>
/// Keeps Interventions' copy of a section, to check that a group intervention's students are in a section the teacher
/// teaches. Each message is the whole roster: the members are replaced; an older snapshot is ignored; an ended section
/// is removed (its group interventions stay, with their students).
/// </summary>
public sealed class SectionRosterRecordedConsumer(InterventionsDbContext db) : IConsumer<SectionRosterRecorded>
{
    public async Task Consume(ConsumeContext<SectionRosterRecorded> context)
    {
        var message = context.Message;
        var ct = context.CancellationToken;
        var section = await db.Sections.FindAsync([message.SectionId], ct);
        if (section is not null && section.RecordedAt > message.OccurredAt)
        {
            return;
        }
        db.SectionPeople.RemoveRange(await db.SectionPeople.Where(m => m.SectionId == message.SectionId).ToListAsync(ct));
        if (message.Ended)
        {
            if (section is not null)
            {
                db.Sections.Remove(section);
            }
            await db.SaveChangesAsync(ct);
            return;
        }
        section ??= db.Sections.Add(new SectionCopy { SectionId = message.SectionId, SchoolId = message.SchoolId }).Entity;
        (section.SchoolId, section.Title, section.RecordedAt) = (message.SchoolId, message.Title, message.OccurredAt);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (person, role) in message.TeacherIds.Select(t => (t, "teacher")).Concat(message.StudentIds.Select(s => (s, "student"))))
        {
            if (!string.IsNullOrWhiteSpace(person) && seen.Add(person))
            {
                db.SectionPeople.Add(new SectionPerson { SectionId = message.SectionId, PersonId = person, Role = role });
            }
        }
        await db.SaveChangesAsync(ct);
    }
}
