using Beacon.Contracts.Events;
using Beacon.Mastery.Storage;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Mastery.Consumers;

/// <summary>
/// Keeps Mastery's copy of a section and its members: each message is the whole roster, so the members are replaced.
/// An older snapshot than the one kept is ignored (redelivery, two imports close together); an ended section is removed.
/// </summary>
public sealed class SectionRosterRecordedConsumer(MasteryDbContext db) : IConsumer<SectionRosterRecorded>
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
        db.SectionMembers.RemoveRange(await db.SectionMembers.Where(m => m.SectionId == message.SectionId).ToListAsync(ct));
        if (message.Ended)
        {
            if (section is not null)
            {
                db.Sections.Remove(section);
            }
            await db.SaveChangesAsync(ct);
            return;
        }
        section ??= db.Sections.Add(new ClassSection { SectionId = message.SectionId, SchoolId = message.SchoolId }).Entity;
        (section.SchoolId, section.Title, section.RecordedAt) = (message.SchoolId, message.Title, message.OccurredAt);
        // A person listed twice (as teacher and student, or repeated) is kept once, as teacher first.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (person, role) in message.TeacherIds.Select(t => (t, "teacher")).Concat(message.StudentIds.Select(s => (s, "student"))))
        {
            if (!string.IsNullOrWhiteSpace(person) && seen.Add(person))
            {
                db.SectionMembers.Add(new SectionMember { SectionId = message.SectionId, PersonId = person, Role = role });
            }
        }
        await db.SaveChangesAsync(ct);
    }
}
