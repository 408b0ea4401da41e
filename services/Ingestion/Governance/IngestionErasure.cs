using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.Governance;
using Beacon.Ingestion.Intake;
using Beacon.Ingestion.Storage;
using Beacon.Messaging;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Governance;

/// <summary>
/// Erases a student from Ingestion: the roster row and everything keyed by the id is deleted, quarantined rows
/// that contain the id and the outbox events about the student too; the request and the events that tell the
/// other services (StudentErasureRequested) and the report (Ingestion's own StudentErasureConfirmed) are saved
/// in the same transaction.
/// </summary>
public sealed class IngestionErasure(IngestionDbContext db, ErasedStudentsCache tombstones, TimeProvider clock)
{
    public const string Service = "ingestion";

    public async Task<(ErasureRequest Request, Dictionary<string, int> Rows)> EraseAsync(string studentId, string requestedBy, string? reason, CancellationToken ct)
    {
        var request = new ErasureRequest
        {
            RequestId = Guid.NewGuid(),
            StudentId = studentId,
            RequestedBy = requestedBy,
            Reason = reason,
            RequestedAt = clock.GetUtcNow(),
        };
        // Quarantined rows are stored as JSON; the id as a JSON string matches the row's field (and, harmlessly, any other field with that value).
        var quoted = JsonSerializer.Serialize(studentId);
        var rows = await db.EraseAsync(tombstones, studentId, request.RequestId, request.RequestedAt, async ct => new Dictionary<string, int>
        {
            ["Students"] = await db.Students.Where(s => s.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["StudentContacts"] = await db.StudentContacts.Where(c => c.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["Demographics"] = await db.Demographics.Where(d => d.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["SectionEnrollments"] = await db.SectionEnrollments.Where(e => e.PersonId == studentId).ExecuteDeleteAsync(ct),
            ["Attendance"] = await db.Attendance.Where(a => a.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["ItemResponses"] = await db.ItemResponses.Where(r => r.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["Grades"] = await db.Grades.Where(g => g.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["BehaviorIncidents"] = await db.BehaviorIncidents.Where(b => b.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["LmsActivities"] = await db.LmsActivities.Where(a => a.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["XapiStatements"] = await db.XapiStatements.Where(x => x.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["StudentIdentifiers"] = await db.StudentIdentifiers.Where(i => i.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["OneRosterVersions"] = await db.OneRosterVersions.Where(v => v.SourcedId == studentId).ExecuteDeleteAsync(ct),
            ["Quarantine"] = await db.Quarantine.Where(q => q.Raw.Contains(quoted)).ExecuteDeleteAsync(ct),
            ["outbox"] = await db.DeleteOutboxOfStudentAsync(studentId, ct),
        }, rows =>
        {
            db.ErasureRequests.Add(request);
            db.Publish(new StudentErasureRequested(request.RequestId, studentId, requestedBy, request.RequestedAt));
            db.Publish(new StudentErasureConfirmed(request.RequestId, studentId, Service, rows, request.RequestedAt));
        }, ct);
        return (request, rows);
    }
}

/// <summary>Rows about an erased student are refused, row by row, and their content is not kept in the quarantine.</summary>
public static class ErasedStudentRows
{
    public const string NotKept = "(not kept: the student was erased)";

    public static async Task<IReadOnlyList<Positioned<TRow>>> RefuseErasedAsync<TRow>(this IngestionDbContext db, IReadOnlyList<Positioned<TRow>> rows,
        Func<TRow, string?> studentId, RowErrors errors, CancellationToken ct)
    {
        var ids = rows.Select(r => studentId(r.Row)).OfType<string>().Distinct().ToList();
        if (ids.Count == 0)
        {
            return rows;
        }
        // One array parameter, not one per id (see SchoolDays.SchoolOfAsync).
        var erased = (await db.ErasureRequests.AsNoTracking().Where(e => EF.Parameter(ids).Contains(e.StudentId)).Select(e => e.StudentId).ToListAsync(ct)).ToHashSet();
        if (erased.Count == 0)
        {
            return rows;
        }
        var kept = new List<Positioned<TRow>>(rows.Count);
        foreach (var row in rows)
        {
            if (studentId(row.Row) is { } id && erased.Contains(id))
            {
                errors.Add(row.Position, NotKept, "studentId", "this student's records were erased on request; rows about an erased student are refused and not kept.");
            }
            else
            {
                kept.Add(row);
            }
        }
        return kept;
    }
}
