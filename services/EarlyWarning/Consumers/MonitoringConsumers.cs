using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Monitoring;
using Beacon.EarlyWarning.Storage;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.EarlyWarning.Consumers;

/// <summary>Keeps the demographics projection for the subgroup figures; the latest record wins, so redelivery changes nothing.</summary>
public sealed class StudentDemographicsRecordedConsumer(EarlyWarningDbContext db) : IConsumer<StudentDemographicsRecorded>
{
    public async Task Consume(ConsumeContext<StudentDemographicsRecorded> context)
    {
        var m = context.Message;
        var row = await db.Demographics.FindAsync([m.StudentId], context.CancellationToken);
        row ??= db.Demographics.Add(new StudentDemographics { StudentId = m.StudentId }).Entity;
        row.Sex = m.Sex;
        row.RaceEthnicity = m.RaceEthnicity;
        row.EconomicallyDisadvantaged = m.EconomicallyDisadvantaged;
        row.EnglishLearner = m.EnglishLearner;
        row.Disability = m.Disability;
        await db.SaveChangesAsync(context.CancellationToken);
    }
}

/// <summary>
/// A case closed with outcome "false-alarm" is feedback on the alerts that opened it (the event carries
/// their ids). It is stored as feedback, never as an outcome: a false alarm in a counselor's judgement is
/// not the truth about the student's year.
/// </summary>
public sealed class InterventionOutcomeRecordedConsumer(EarlyWarningDbContext db, Labels labels) : IConsumer<InterventionOutcomeRecorded>
{
    public async Task Consume(ConsumeContext<InterventionOutcomeRecorded> context)
    {
        var m = context.Message;
        if (m.Outcome != InterventionOutcomes.FalseAlarm || m.AlertIds.Count == 0)
        {
            return;
        }
        var ids = m.AlertIds.ToList();
        foreach (var alert in await db.Alerts.AsNoTracking().Where(a => ids.Contains(a.AlertId)).ToListAsync(context.CancellationToken))
        {
            await labels.UpsertAsync(alert, "false-alarm", $"Outreach case {m.CaseId} {m.Status} with outcome false-alarm.", $"case:{m.CaseId}",
                FeedbackSources.InterventionCase, context.CancellationToken);
        }
        await db.SaveChangesAsync(context.CancellationToken);
    }
}

/// <summary>
/// Keeps the roster's name, school and grade level per student (the latest enrolment wins, whatever order they arrive in):
/// the analyst profile names its students and the research extract generalizes their grade (<see cref="Storage.StudentRosterRow"/>).
/// </summary>
public sealed class StudentEnrolledConsumer(EarlyWarningDbContext db) : IConsumer<StudentEnrolled>
{
    public async Task Consume(ConsumeContext<StudentEnrolled> context)
    {
        var m = context.Message;
        var row = await db.Roster.FindAsync([m.StudentId], context.CancellationToken);
        if (row is not null && row.OccurredAt > m.OccurredAt)
        {
            return;
        }
        row ??= db.Roster.Add(new StudentRosterRow { StudentId = m.StudentId, SchoolId = m.SchoolId, GivenName = m.GivenName, FamilyName = m.FamilyName, GradeLevel = m.GradeLevel }).Entity;
        (row.SchoolId, row.GivenName, row.FamilyName, row.GradeLevel, row.OccurredAt) = (m.SchoolId, m.GivenName, m.FamilyName, m.GradeLevel, m.OccurredAt);
        await db.SaveChangesAsync(context.CancellationToken);
    }
}
