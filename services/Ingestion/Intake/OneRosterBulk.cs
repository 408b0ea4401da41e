using Beacon.Ingestion.Domain;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Intake;

/// <summary>
/// manifest.csv's bulk: the file is the whole of its data, so a record it no longer lists has ended. Most SIS send a
/// nightly bulk export and never a tobedeleted row; without this, a student who left would stay active for good. Each
/// record missing is added to its table as a tobedeleted row marked <see cref="MissingFromBulk"/>, and a delta's deletions
/// apply (OneRosterDelta.cs): a student withdrawn with StudentExited, a staff member gone with StaffLeft, a contact no
/// longer one, a class ended, an enrollment ended. Only within the schools the bundle covers (orgs.csv's schools and the
/// schools its users resolve to): a bulk bundle of one school does not end another school's records. Schools of the
/// bundle's source (<see cref="School.Source"/>) that a bulk orgs.csv no longer lists are named in the answer; they are
/// closed (as a tobedeleted org row closes one) only where <see cref="OneRosterOptions.BulkOrgsCloseSchools"/> says each
/// bundle is the whole district, because a SIS that exports one bundle per school also sends a bulk orgs.csv of one
/// school. Another system's schools, and schools stored before sources were kept, are never closed by it.
/// </summary>
public sealed partial class OneRosterImport
{
    /// <summary>The column that marks a tobedeleted row Beacon added for a record a bulk file no longer lists.</summary>
    public const string MissingFromBulk = "beacon.missingFromBulk";

    /// <summary>Records ended because a bulk file no longer lists them, per file.</summary>
    /// <param name="Schools">Schools closed because a bulk orgs.csv no longer lists them (OneRoster:BulkOrgsCloseSchools).</param>
    /// <param name="SchoolsNotListed">Schools of the source a bulk orgs.csv no longer lists, left open (the setting is off).</param>
    public sealed record BulkEnded(int Users, int Classes, int Enrollments, int Schools = 0, IReadOnlyList<string>? SchoolsNotListed = null);

    private static bool IsMissingFromBulk(Dictionary<string, string> row) => row.ContainsKey(MissingFromBulk);

    private async Task<(Table Orgs, Table Users, Table Classes, Table Enrollments, BulkEnded Ended)> WithMissingFromBulkAsync(IReadOnlySet<string> bulkFiles,
        IReadOnlySet<string> coveredSchools, string source, Table orgs, Table users, Table classes, Table enrollments, IReadOnlyDictionary<string, Table> received,
        CancellationToken ct)
    {
        // Listed means in the file as received: a row left out as stale (OneRosterOrder.cs) still names its record.
        Table AsReceived(Table t) => received.Values.FirstOrDefault(r => r.File == t.File) ?? t;
        var covered = coveredSchools.ToList();
        var (missingUsers, missingClasses, missingEnrollments) = (new List<string>(), new List<string>(), new List<(string Class, string User)>());
        var (missingSchools, notListed) = (new List<string>(), new List<string>());
        if (bulkFiles.Contains(orgs.File))
        {
            var listed = Ids(AsReceived(orgs), "sourcedId");
            missingSchools.AddRange((await db.Schools.AsNoTracking().Where(s => s.Source == source && s.ClosedAt == null).Select(s => s.SchoolId).ToListAsync(ct))
                // A school the bundle's own users still sit in stays open: the files disagree, and closing would hide them.
                .Where(id => !listed.Contains(id) && !coveredSchools.Contains(id)));
            if (!settings.Value.BulkOrgsCloseSchools)
            {
                (notListed, missingSchools) = (missingSchools, []);
            }
        }
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
            orgs with { Rows = [.. orgs.Rows, .. missingSchools.Select(id => (0, Gone(("sourcedId", id))))] },
            users with { Rows = [.. users.Rows, .. missingUsers.Select(id => (0, Gone(("sourcedId", id))))] },
            classes with { Rows = [.. classes.Rows, .. missingClasses.Select(id => (0, Gone(("sourcedId", id))))] },
            enrollments with { Rows = [.. enrollments.Rows, .. missingEnrollments.Select(e => (0, Gone(("classSourcedId", e.Class), ("userSourcedId", e.User))))] },
            new BulkEnded(missingUsers.Count, missingClasses.Count, missingEnrollments.Count, missingSchools.Count, notListed.Count > 0 ? [.. notListed.Order().Take(100)] : null));
    }

    private static HashSet<string> Ids(Table table, string column) =>
        table.Rows.Select(r => Field(r.Row, column)).OfType<string>().ToHashSet(StringComparer.Ordinal);
}

/// <summary>Settings of the OneRoster CSV import (section OneRoster).</summary>
public sealed class OneRosterOptions
{
    public const string Section = "OneRoster";

    /// <summary>
    /// Each bulk bundle is the whole district (the spec's bulk): a school of the bundle's source that its orgs.csv no longer
    /// lists is closed. Off by default: with one bundle per school, every other school would be closed by each bundle.
    /// </summary>
    public bool BulkOrgsCloseSchools { get; set; }
}
