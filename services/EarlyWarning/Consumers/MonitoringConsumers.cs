using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Monitoring;
using Beacon.EarlyWarning.Storage;
using Beacon.Governance;
using Beacon.Messaging;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.EarlyWarning.Consumers;

/// <summary>Keeps the demographics projection for the subgroup figures; the latest record wins, so redelivery changes nothing.</summary>
public sealed class DemographicsUpserts(EarlyWarningDbContext db, IErasedStudents erased) : StudentRowUpserts<StudentDemographicsRecorded, StudentDemographics>(db, erased)
{
    protected override string StudentIdOf(StudentDemographicsRecorded message) => message.StudentId;

    protected override StudentDemographics NewRow(StudentDemographicsRecorded message) => new() { StudentId = message.StudentId };

    protected override void Apply(StudentDemographics row, StudentDemographicsRecorded m) =>
        (row.Sex, row.RaceEthnicity, row.EconomicallyDisadvantaged, row.EnglishLearner, row.Disability) = (m.Sex, m.RaceEthnicity, m.EconomicallyDisadvantaged, m.EnglishLearner, m.Disability);
}

public sealed class StudentDemographicsRecordedConsumer(EarlyWarningDbContext db, DemographicsUpserts upserts)
    : GatheredRecordsConsumer<StudentDemographicsRecorded>(db, upserts);

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
public sealed class RosterUpserts(EarlyWarningDbContext db, IErasedStudents erased) : StudentRowUpserts<StudentEnrolled, StudentRosterRow>(db, erased)
{
    protected override string StudentIdOf(StudentEnrolled message) => message.StudentId;

    protected override StudentRosterRow NewRow(StudentEnrolled m) =>
        new() { StudentId = m.StudentId, SchoolId = m.SchoolId, GivenName = m.GivenName, FamilyName = m.FamilyName, GradeLevel = m.GradeLevel, OccurredAt = m.OccurredAt };

    protected override void Apply(StudentRosterRow row, StudentEnrolled m)
    {
        if (row.OccurredAt <= m.OccurredAt)
        {
            (row.SchoolId, row.GivenName, row.FamilyName, row.GradeLevel, row.OccurredAt) = (m.SchoolId, m.GivenName, m.FamilyName, m.GradeLevel, m.OccurredAt);
        }
    }
}

public sealed class StudentEnrolledConsumer(EarlyWarningDbContext db, RosterUpserts upserts) : GatheredRecordsConsumer<StudentEnrolled>(db, upserts);
