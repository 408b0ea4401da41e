using Beacon.Contracts.Events;
using Beacon.Interventions.Storage;
using Beacon.ServiceDefaults;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Interventions.Consumers;

/// <summary>
/// Keeps Interventions' own copy of attendance (one row per student and day; corrections overwrite), a
/// batch of records per transaction: one commit per record could not keep up with a district's uploads.
/// </summary>
public sealed class AttendanceRecordedConsumer(InterventionsDbContext db, IErasedStudents erased) : IConsumer<Batch<AttendanceRecorded>>
{
    public async Task Consume(ConsumeContext<Batch<AttendanceRecorded>> context)
    {
        // Erased students' late records are dropped, so nothing erased comes back.
        var records = await erased.WithoutErasedAsync(context.Message.Select(m => m.Message), m => m.StudentId, context.CancellationToken);
        if (records.Count == 0)
        {
            return;
        }
        var ids = records.Select(m => m.StudentId).Distinct().ToList();
        DateOnly first = records.Min(m => m.Date), last = records.Max(m => m.Date);
        var stored = await db.Attendance.Where(d => ids.Contains(d.StudentId) && d.Date >= first && d.Date <= last)
            .ToDictionaryAsync(d => (d.StudentId, d.Date), context.CancellationToken);
        foreach (var m in records)
        {
            var attended = m.Status is "present" or "tardy";
            if (!stored.TryGetValue((m.StudentId, m.Date), out var day))
            {
                stored[(m.StudentId, m.Date)] = db.Attendance.Add(new AttendanceDay { StudentId = m.StudentId, Date = m.Date, SchoolId = m.SchoolId, Status = m.Status, Attended = attended }).Entity;
            }
            else
            {
                day.Status = m.Status;
                day.SchoolId = m.SchoolId;
                day.Attended = attended;
            }
        }
        await db.SaveChangesAsync(context.CancellationToken);
    }
}

public sealed class AttendanceRecordedConsumerDefinition : ConsumerDefinition<AttendanceRecordedConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<AttendanceRecordedConsumer> consumerConfigurator, IRegistrationContext context) =>
        // One batch at a time, so a day and its correction in two batches cannot both insert.
        consumerConfigurator.Options<BatchOptions>(o => o.SetMessageLimit(500).SetTimeLimit(TimeSpan.FromMilliseconds(100)).SetConcurrencyLimit(1));
}
