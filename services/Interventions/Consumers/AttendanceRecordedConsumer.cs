using Beacon.Contracts.Events;
using Beacon.Interventions.Storage;
using Beacon.ServiceDefaults;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Interventions.Consumers;

/// <summary>
/// Keeps Interventions' own copy of attendance (one row per student and day; corrections overwrite), a
/// batch of records per transaction: one commit per record could not keep up with a district's uploads.
/// The caller saves.
/// </summary>
public sealed class AttendanceCopy(InterventionsDbContext db, IErasedStudents erased)
{
    public async Task ApplyAsync(IEnumerable<AttendanceRecorded> batch, CancellationToken ct)
    {
        // Erased students' late records are dropped, so nothing erased comes back.
        var records = await erased.WithoutErasedAsync(batch, m => m.StudentId, ct);
        if (records.Count == 0)
        {
            return;
        }
        var ids = records.Select(m => m.StudentId).Distinct().ToList();
        DateOnly first = records.Min(m => m.Date), last = records.Max(m => m.Date);
        var stored = await db.Attendance.Where(d => ids.Contains(d.StudentId) && d.Date >= first && d.Date <= last)
            .ToDictionaryAsync(d => (d.StudentId, d.Date), ct);
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
    }
}

/// <summary>Single records (any producer but Ingestion, which publishes batches), gathered into batches here.</summary>
public sealed class AttendanceRecordedConsumer(InterventionsDbContext db, AttendanceCopy copy) : IConsumer<Batch<AttendanceRecorded>>
{
    public async Task Consume(ConsumeContext<Batch<AttendanceRecorded>> context)
    {
        await copy.ApplyAsync(context.Message.Select(m => m.Message), context.CancellationToken);
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

/// <summary>Ingestion's batches of records, one message at a time and in order, each applied once (inbox).</summary>
public sealed class AttendanceBatchRecordedConsumer(InterventionsDbContext db, AttendanceCopy copy, TimeProvider clock) : IConsumer<AttendanceBatchRecorded>
{
    public Task Consume(ConsumeContext<AttendanceBatchRecorded> context) =>
        db.ConsumeOnceAsync(context, clock.GetUtcNow(), () => copy.ApplyAsync(context.Message.Records, context.CancellationToken));
}

public sealed class AttendanceBatchRecordedConsumerDefinition : ConsumerDefinition<AttendanceBatchRecordedConsumer>
{
    // One message at a time, so a day and its correction in two batches cannot both insert.
    public AttendanceBatchRecordedConsumerDefinition() => ConcurrentMessageLimit = 1;
}
