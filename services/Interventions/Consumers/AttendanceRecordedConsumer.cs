using Beacon.Contracts.Events;
using Beacon.Interventions.Storage;
using MassTransit;

namespace Beacon.Interventions.Consumers;

/// <summary>Keeps Interventions' own copy of attendance (one row per student and day; corrections overwrite).</summary>
public sealed class AttendanceRecordedConsumer(InterventionsDbContext db) : IConsumer<AttendanceRecorded>
{
    public async Task Consume(ConsumeContext<AttendanceRecorded> context)
    {
        var m = context.Message;
        var attended = m.Status is "present" or "tardy";
        var day = await db.Attendance.FindAsync([m.StudentId, m.Date], context.CancellationToken);
        if (day is null)
        {
            db.Attendance.Add(new AttendanceDay { StudentId = m.StudentId, Date = m.Date, SchoolId = m.SchoolId, Status = m.Status, Attended = attended });
        }
        else
        {
            day.Status = m.Status;
            day.SchoolId = m.SchoolId;
            day.Attended = attended;
        }
        await db.SaveChangesAsync(context.CancellationToken);
    }
}

public sealed class AttendanceRecordedConsumerDefinition : ConsumerDefinition<AttendanceRecordedConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<AttendanceRecordedConsumer> consumerConfigurator, IRegistrationContext context) =>
        // One student's days one at a time, so a day and its correction cannot both insert.
        consumerConfigurator.Message<AttendanceRecorded>(m => m.UsePartitioner(8, ctx => Beacon.ServiceDefaults.Partitioning.ForStudent(ctx.Message.StudentId)));
}
