using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Domain;
using Beacon.EarlyWarning.Models.Attendance;
using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.ServiceDefaults;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.EarlyWarning.Consumers;

/// <summary>
/// Updates the attendance projection and re-evaluates the indicator. Idempotent: a redelivered or
/// re-sent record changes no day, so the state does not move and no second alert is raised. A changed
/// day also re-scores the student with the active chronic-absence model, if one is promoted.
/// </summary>
public sealed class AttendanceRecordedConsumer(EarlyWarningDbContext db, IOptions<ChronicAbsenceOptions> options, RiskScoring scoring, TimeProvider clock)
    : IConsumer<AttendanceRecorded>
{
    public async Task Consume(ConsumeContext<AttendanceRecorded> context)
    {
        var message = context.Message;
        var ct = context.CancellationToken;
        if (message.Period is not null)
        {
            // The ABC indicator counts school days; per-period records do not change it.
            return;
        }
        var days = await db.AttendanceDays.Where(d => d.StudentId == message.StudentId).ToListAsync(ct);
        var day = days.Find(d => d.Date == message.Date);
        if (day is null)
        {
            days.Add(db.AttendanceDays.Add(new AttendanceDay { StudentId = message.StudentId, Date = message.Date, Status = message.Status }).Entity);
        }
        else if (day.Status == message.Status)
        {
            return;
        }
        else
        {
            day.Status = message.Status;
        }
        // The day and the state it leads to are saved together, so a crash cannot leave them apart.
        var reading = ChronicAbsenceIndicator.Evaluate(ChronicAbsenceIndicator.Summarize(days.Select(d => d.Status), options.Value), options.Value);

        var state = await db.RiskStates.FindAsync([message.StudentId], ct);
        if (state is null)
        {
            state = db.RiskStates.Add(new StudentRiskState { StudentId = message.StudentId, SchoolId = message.SchoolId }).Entity;
        }
        var now = clock.GetUtcNow();
        if (ChronicAbsenceIndicator.IsCrossingIn(state.ChronicallyAbsent, reading))
        {
            state.Crossings++;
            var alert = new RiskAlert
            {
                AlertId = NewId.NextGuid(),
                StudentId = message.StudentId,
                SchoolId = message.SchoolId,
                Kind = RiskKinds.ChronicAbsence,
                Crossing = state.Crossings,
                Reason = reading.Explanation,
                Score = reading.Summary.AbsenceRate,
                RaisedAt = now,
            };
            db.Alerts.Add(alert);
            db.Publish(new RiskAlertRaised(alert.AlertId, alert.StudentId, alert.SchoolId, alert.Kind, alert.Reason, alert.Score, alert.RaisedAt));
        }
        state.SchoolId = message.SchoolId;
        state.DaysEnrolled = reading.Summary.DaysEnrolled;
        state.DaysAbsent = reading.Summary.DaysAbsent;
        state.ChronicallyAbsent = reading.ChronicallyAbsent;
        state.UpdatedAt = now;
        // The model re-scores the student in the same unit of work, so score and signal commit together.
        await scoring.ScoreAttendanceAsync(message.StudentId, message.SchoolId, days.Select(d => new SchoolDay(d.Date, d.Status)), now, ct);
        await db.SaveChangesAsync(ct);
    }
}

public sealed class AttendanceRecordedConsumerDefinition : ConsumerDefinition<AttendanceRecordedConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<AttendanceRecordedConsumer> consumerConfigurator, IRegistrationContext context)
    {
        // One student's days are evaluated one at a time, so two absences cannot both see "not yet chronic".
        consumerConfigurator.Message<AttendanceRecorded>(m => m.UsePartitioner(8, ctx => Partitioning.ForStudent(ctx.Message.StudentId)));
    }
}
