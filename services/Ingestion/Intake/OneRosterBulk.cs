using Beacon.Ingestion.Domain;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Intake;

/// <summary>
/// manifest.csv's bulk: the file is the whole of its data, so a record it no longer lists has ended. Most SIS send a
/// nightly bulk export and never a tobedeleted row; without this, a student who left would stay active for good. Each
/// record missing is added to its table as a tobedeleted row marked <see cref="MissingFromBulk"/>, and a delta's deletions
/// apply (OneRosterDelta.cs): a student withdrawn with StudentExited, a staff member gone with StaffLeft, a contact no
/// longer one, a class ended, an enrollment ended. Only within the schools the bundle covers (orgs.csv's schools and the
/// schools its users resolve to): a bulk bundle of one school does not end another school's records.
/// </summary>
public sealed partial class OneRosterImport
{
    /// <summary>The column that marks a tobedeleted row Beacon added for a record a bulk file no longer lists.</summary>
    public const string MissingFromBulk = "beacon.missingFromBulk";

    /// <summary>Records ended because a bulk file no longer lists them, per file.</summary>
    public sealed record BulkEnded(int Users, int Classes, int Enrollments);

    private static bool IsMissingFromBulk(Dictionary<string, string> row) => row.ContainsKey(MissingFromBulk);

    private async Task<(Table Users, Table Classes, Table Enrollments, BulkEnded Ended)> WithMissingFromBulkAsync(IReadOnlySet<string> bulkFiles,
        IReadOnlySet<string> coveredSchools, Table users, Table classes, Table enrollments, IReadOnlyDictionary<string, Table> received, CancellationToken ct)
    {
        // Listed means in the file as received: a row left out as stale (OneRosterOrder.cs) still names its record.
        Table AsReceived(Table t) => received.Values.FirstOrDefault(r => r.File == t.File) ?? t;
        var covered = coveredSchools.ToList();
        var (missingUsers, missingClasses, missingEnrollments) = (new List<string>(), new List<string>(), new List<(string Class, string User)>());
        if (covered.Count > 0 && bulkFiles.Contains(users.File))
        {
            var listed = Ids(AsReceived(users), "sourcedId");
            var students = await db.Students.AsNoTracking().Where(s => covered.Contains(s.SchoolId) && s.Status == StudentStatuses.Active).Select(s => s.StudentId).ToListAsync(ct);
            var staff = await db.Staff.AsNoTracking().Where(s => covered.Contains(s.SchoolId)).Select(s => s.StaffId).ToListAsync(ct);
            var contacts = await db.StudentContacts.AsNoTracking().Join(db.Students.AsNoTracking().Where(s => covered.Contains(s.SchoolId)),
                c => c.StudentId, s => s.StudentId, (c, _) => c.ContactId).Distinct().ToListAsync(ct);
            missingUsers.AddRange(students.Concat(staff).Concat(contacts).Where(id => !listed.Contains(id)).Distinct());
        }
        if (covered.Count > 0 && bulkFiles.Contains(classes.File))
        {
            var listed = Ids(AsReceived(classes), "sourcedId");
            missingClasses.AddRange((await db.Sections.AsNoTracking().Where(s => covered.Contains(s.SchoolId)).Select(s => s.SectionId).ToListAsync(ct))
                .Where(id => !listed.Contains(id)));
        }
        if (covered.Count > 0 && bulkFiles.Contains(enrollments.File))
        {
            var listed = AsReceived(enrollments).Rows.Select(r => (Field(r.Row, "classSourcedId"), Field(r.Row, "userSourcedId"))).ToHashSet();
            var ending = missingClasses.ToHashSet();
            var stored = await db.SectionEnrollments.AsNoTracking()
                .Join(db.Sections.AsNoTracking().Where(s => covered.Contains(s.SchoolId)), e => e.SectionId, s => s.SectionId, (e, _) => new { e.SectionId, e.PersonId })
                .ToListAsync(ct);
            missingEnrollments.AddRange(stored.Where(e => !ending.Contains(e.SectionId) && !listed.Contains((e.SectionId, e.PersonId))).Select(e => (e.SectionId, e.PersonId)));
        }
        static Dictionary<string, string> Gone(params (string Column, string Value)[] cells)
        {
            var row = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["status"] = "tobedeleted", [MissingFromBulk] = "true" };
            foreach (var (column, value) in cells)
            {
                row[column] = value;
            }
            return row;
        }
        return (
            users with { Rows = [.. users.Rows, .. missingUsers.Select(id => (0, Gone(("sourcedId", id))))] },
            classes with { Rows = [.. classes.Rows, .. missingClasses.Select(id => (0, Gone(("sourcedId", id))))] },
            enrollments with { Rows = [.. enrollments.Rows, .. missingEnrollments.Select(e => (0, Gone(("classSourcedId", e.Class), ("userSourcedId", e.User))))] },
            new BulkEnded(missingUsers.Count, missingClasses.Count, missingEnrollments.Count));
    }

    private static HashSet<string> Ids(Table table, string column) =>
        table.Rows.Select(r => Field(r.Row, column)).OfType<string>().ToHashSet(StringComparer.Ordinal);
}
