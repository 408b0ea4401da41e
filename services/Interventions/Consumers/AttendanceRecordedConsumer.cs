using Beacon.Contracts.Events;
using Beacon.Governance;
using Beacon.Interventions.Storage;
using Beacon.Messaging;
using Beacon.ServiceDefaults;

namespace Beacon.Interventions.Consumers;

/// <summary>
/// Keeps Interventions' own copy of attendance (one row per student and day; corrections overwrite), a
/// batch of records per transaction: one commit per record could not keep up with a district's uploads.
/// The rows are written as one upsert inside the unit of work's transaction, without the change tracker: read,
/// tracked and saved a row at a time, the copy cost Interventions as much CPU per record as Ingestion spent storing it,
/// on the same two cores during an upload (bench/RESULTS.md, the twenty-first session). The caller saves, which commits.
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
        // In the batch's order, so a correction later in the batch wins; one row a key (a statement may not write a row twice).
        var days = new Dictionary<(string StudentId, DateOnly Date), AttendanceDay>();
        foreach (var m in records)
        {
            days[(m.StudentId, m.Date)] = new AttendanceDay { StudentId = m.StudentId, Date = m.Date, SchoolId = m.SchoolId, Status = m.Status, Attended = m.Status is "present" or "tardy" };
        }
        await db.BeginUnitOfWorkAsync(ct);
        await db.InsertOrUpdateAsync([.. days.Values], ct);
    }
}

/// <summary>Single records (any producer but Ingestion, which publishes batches), gathered into batches here.</summary>
public sealed class AttendanceRecordedConsumer(InterventionsDbContext db, AttendanceCopy copy)
    : GatheredRecordsConsumer<AttendanceRecorded>(db, copy);

/// <summary>Ingestion's batches of records, one message at a time and in order, each applied once (inbox).</summary>
public sealed class AttendanceBatchRecordedConsumer(InterventionsDbContext db, AttendanceCopy copy, TimeProvider clock)
    : RecordBatchConsumer<AttendanceBatchRecorded, AttendanceRecorded>(db, copy, clock, batch => batch.Records);
