using Beacon.Contracts.Events;
using Beacon.Interventions.Domain;
using Beacon.Interventions.Storage;
using MassTransit;

namespace Beacon.Interventions.Consumers;

/// <summary>
/// Keeps each student's family contacts for outreach (the case page's "who to call"). Upsert by student and contact;
/// a record older than the one kept is ignored, so redelivery and reordering leave the newest.
/// </summary>
public sealed class StudentContactRecordedConsumer(InterventionsDbContext db) : IConsumer<StudentContactRecorded>
{
    public async Task Consume(ConsumeContext<StudentContactRecorded> context)
    {
        var m = context.Message;
        var row = await db.FamilyContacts.FindAsync([m.StudentId, m.ContactId], context.CancellationToken);
        if (row is not null && row.RecordedAt > m.OccurredAt)
        {
            return;
        }
        row ??= db.FamilyContacts.Add(new FamilyContact
        {
            StudentId = m.StudentId,
            ContactId = m.ContactId,
            Relationship = m.Relationship,
            GivenName = m.GivenName,
            FamilyName = m.FamilyName,
        }).Entity;
        row.Relationship = m.Relationship;
        row.GivenName = m.GivenName;
        row.FamilyName = m.FamilyName;
        row.Email = m.Email;
        row.Phone = m.Phone;
        row.Sms = m.Sms;
        row.RecordedAt = m.OccurredAt;
        await db.SaveChangesAsync(context.CancellationToken);
    }
}
