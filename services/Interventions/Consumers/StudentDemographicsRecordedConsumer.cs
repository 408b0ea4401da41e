using Beacon.Contracts.Events;
using Beacon.Interventions.Domain;
using Beacon.Interventions.Storage;
using MassTransit;

namespace Beacon.Interventions.Consumers;

/// <summary>
/// Keeps the subgroups a student belongs to (sex, race/ethnicity, economically disadvantaged, English learner, disability),
/// for the equity rows of the mastery effect only: growth gaps between subgroups. Upsert; never shown per student.
/// </summary>
public sealed class StudentDemographicsRecordedConsumer(InterventionsDbContext db) : IConsumer<StudentDemographicsRecorded>
{
    public async Task Consume(ConsumeContext<StudentDemographicsRecorded> context)
    {
        var m = context.Message;
        var row = await db.Subgroups.FindAsync([m.StudentId], context.CancellationToken)
            ?? db.Subgroups.Add(new StudentSubgroups { StudentId = m.StudentId }).Entity;
        row.Labels = string.Join(',', StudentSubgroups.LabelsOf(m.Sex, m.RaceEthnicity, m.EconomicallyDisadvantaged, m.EnglishLearner, m.Disability));
        await db.SaveChangesAsync(context.CancellationToken);
    }
}
