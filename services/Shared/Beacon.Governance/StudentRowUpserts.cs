using Beacon.Messaging;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Governance;

/// <summary>
/// A projection of one row per student kept from events that each carry the student's latest values (an enrolment, a
/// demographics record, an exit), applied a batch at a time: one read of the batch's rows, one transaction. Gathered
/// into batches (<see cref="GatheredRecordsConsumer{TRecord}"/>) because a roster upload publishes thousands of them at
/// once, and one transaction each let that many consumers contend for SQLite's single writer; its busy wait sleeps a
/// thread-pool thread per waiting writer, which starved every other consumer in the first minute after a roster.
/// Erased students' events are dropped (the consume filter sees a batch as one message without a student). Within a
/// batch each student's events apply in arrival order to the same row, so the outcome is that of one at a time.
/// </summary>
public abstract class StudentRowUpserts<TMessage, TRow>(DbContext db, IErasedStudents erased) : IRecordsHandler<TMessage>
    where TRow : class
{
    protected abstract string StudentIdOf(TMessage message);

    protected abstract TRow NewRow(TMessage message);

    /// <summary>Sets the row from the message; a message older than what the row holds leaves it as it is.</summary>
    protected abstract void Apply(TRow row, TMessage message);

    public async Task ApplyAsync(IReadOnlyList<TMessage> records, CancellationToken ct)
    {
        var messages = await erased.WithoutErasedAsync(records, StudentIdOf, ct);
        if (messages.Count == 0)
        {
            return;
        }
        var ids = messages.Select(StudentIdOf).Distinct().ToList();
        var rows = new Dictionary<string, TRow>(StringComparer.Ordinal);
        foreach (var row in await db.Set<TRow>().Where(r => ids.Contains(EF.Property<string>(r, "StudentId"))).ToListAsync(ct))
        {
            rows[(string)db.Entry(row).Property("StudentId").CurrentValue!] = row;
        }
        foreach (var message in messages)
        {
            var id = StudentIdOf(message);
            if (!rows.TryGetValue(id, out var row))
            {
                rows[id] = row = db.Set<TRow>().Add(NewRow(message)).Entity;
            }
            Apply(row, message);
        }
    }
}
