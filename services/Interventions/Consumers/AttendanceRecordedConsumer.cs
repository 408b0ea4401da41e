using Beacon.Contracts.Events;
using Beacon.Governance;
using Beacon.Interventions.Storage;
using Beacon.Messaging;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Interventions.Consumers;

/// <summary>
/// Keeps Interventions' own copy of attendance (one row per student and day; corrections overwrite), a
/// batch of records per transaction: one commit per record could not keep up with a district's uploads.
/// The caller saves.
/// </summary>
public sealed class AttendanceCopy(InterventionsDbContext db, IErasedStudents erased) : IRecordsHandler<AttendanceRecorded>
{
    public async Task ApplyAsync(IReadOnlyList<AttendanceRecorded> batch, CancellationToken ct)
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
public sealed class AttendanceRecordedConsumer(InterventionsDbContext db, AttendanceCopy copy)
    : GatheredRecordsConsumer<AttendanceRecorded>(db, copy);

/// <summary>Ingestion's batches of records, one message at a time and in order, each applied once (inbox).</summary>
public sealed class AttendanceBatchRecordedConsumer(InterventionsDbContext db, AttendanceCopy copy, TimeProvider clock)
    : RecordBatchConsumer<AttendanceBatchRecorded, AttendanceRecorded>(db, copy, clock, batch => batch.Records);
