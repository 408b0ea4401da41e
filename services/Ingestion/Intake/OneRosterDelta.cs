using System.Globalization;
using Beacon.Contracts.Events;
using Beacon.Ingestion.Apis;
using Beacon.Ingestion.Domain;
using Beacon.Messaging;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Intake;

/// <summary>
/// The parts of a OneRoster bundle beyond schools, staff and students: deletions (tobedeleted users, classes and orgs),
/// students' contacts (parents, guardians, relatives through agentSourcedIds) and academic sessions.
/// </summary>
public sealed partial class OneRosterImport
{
    public static readonly IReadOnlySet<string> ContactRoles = new HashSet<string> { "parent", "guardian", "relative" };
    private static readonly HashSet<string> SessionTypes = ["schoolYear", "semester", "term", "gradingPeriod"];

    /// <summary>
    /// tobedeleted rows: a student is withdrawn (kept, marked withdrawn, out of their sections, StudentExited published),
    /// never erased, since a feed's deletion is not an erasure request; a staff member leaves the roster and their sections
    /// (StaffLeft published); a class ends with its enrollments; a school is
    /// marked closed and kept (its students' history refers to it). Rows Beacon added for records a bulk file no longer
    /// lists (OneRosterBulk.cs) are applied the same way. Returns the students withdrawn and classes ended by the files' rows.
    /// </summary>
    private async Task<int> ApplyDeletionsAsync(Table users, Table classes, Table orgs, string source, DateTimeOffset? recordedAt, CancellationToken ct)
    {
        // A backfill says when the students left (the exit's date is what outcomes are derived from); else now.
        var now = recordedAt ?? clock.GetUtcNow();
        var deletedUsers = users.Rows.Where(r => IsDeleted(r.Row)).Select(r => Field(r.Row, "sourcedId")).OfType<string>().Distinct().ToList();
        // Why they left, where the SIS says so in the extension column metadata.exitCode (graduated, transferred, dropped-out).
        var exitCodes = users.Rows.Where(r => IsDeleted(r.Row) && Field(r.Row, "sourcedId") is not null)
            .GroupBy(r => r.Row["sourcedId"]).ToDictionary(g => g.Key, g => Field(g.Last().Row, "metadata.exitCode") is { } code && ExitCodes.All.Contains(code) ? code : ExitCodes.Other);
        var missing = users.Rows.Where(r => IsMissingFromBulk(r.Row)).Select(r => r.Row["sourcedId"]).ToHashSet(StringComparer.Ordinal);
        string Why(string id) => missing.Contains(id)
            ? $"missing from users.csv, which manifest.csv declares bulk (OneRoster, source {source})"
            : $"tobedeleted in users.csv (OneRoster, source {source})";
        var withdrawn = await db.Students.Where(s => deletedUsers.Contains(s.StudentId) && s.Status == StudentStatuses.Active).ToListAsync(ct);
        foreach (var student in withdrawn)
        {
            (student.Status, student.ExitedAt, student.ExitReason) = (StudentStatuses.Withdrawn, now, Why(student.StudentId));
            db.Publish(new StudentExited(student.StudentId, student.SchoolId, student.ExitReason, now, exitCodes[student.StudentId]));
        }
        // A staff member who leaves is taken off the roster (staff rows are not student records: nothing to keep them for);
        // StaffLeft tells Interventions to free their cases and Notifications to stop writing to them.
        var departed = await db.Staff.Where(s => deletedUsers.Contains(s.StaffId)).ToListAsync(ct);
        foreach (var staff in departed)
        {
            db.Staff.Remove(staff);
            db.Publish(new StaffLeft(staff.StaffId, staff.SchoolId, staff.Role, Why(staff.StaffId), now));
        }
        var leaving = withdrawn.Select(s => s.StudentId).Concat(departed.Select(s => s.StaffId)).ToList();
        await db.SectionEnrollments.Where(e => leaving.Contains(e.PersonId)).ExecuteDeleteAsync(ct);
        // A deleted contact is no longer anyone's contact.
        await db.StudentContacts.Where(c => deletedUsers.Contains(c.ContactId)).ExecuteDeleteAsync(ct);

        var deletedClasses = classes.Rows.Where(r => IsDeleted(r.Row)).Select(r => Field(r.Row, "sourcedId")).OfType<string>().Distinct().ToList();
        await db.SectionEnrollments.Where(e => deletedClasses.Contains(e.SectionId)).ExecuteDeleteAsync(ct);
        var endedClasses = await db.Sections.Where(s => deletedClasses.Contains(s.SectionId)).ExecuteDeleteAsync(ct);

        var deletedOrgs = orgs.Rows.Where(r => IsDeleted(r.Row)).Select(r => Field(r.Row, "sourcedId")).OfType<string>().Distinct().ToList();
        foreach (var school in await db.Schools.Where(s => deletedOrgs.Contains(s.SchoolId) && s.ClosedAt == null).ToListAsync(ct))
        {
            school.ClosedAt = now;
        }
        await db.SaveChangesAsync(ct);
        // Rows of the files only: what a bulk file no longer lists is counted apart (BatchSummary.EndedByBulk).
        return withdrawn.Count(s => !missing.Contains(s.StudentId)) + endedClasses - classes.Rows.Count(r => IsMissingFromBulk(r.Row));
    }

    /// <summary>
    /// A student whose deleted enrollments (this bundle's tobedeleted rows in enrollments.csv) leave them in no class of
    /// their school has left it: withdrawn (kept, as for a deleted user) and StudentExited published, with the exit code
    /// the SIS put in metadata.exitCode, else other. A class that ends (classes.csv tobedeleted) does not count: terms end
    /// classes for everyone. A student withdrawn this way who is enrolled in a class of their school again (a later delta,
    /// or the same SIS sending the next term's enrollments late) is active again and StudentEnrolled published. A student
    /// the bundle's users.csv lists as active stays as it says. Runs after the enrollments are applied.
    /// </summary>
    private async Task FollowClassEnrollmentsAsync(Table enrollments, Table liveUsers, string source, DateTimeOffset? recordedAt, CancellationToken ct)
    {
        var listedActive = Ids(liveUsers, "sourcedId");
        var now = recordedAt ?? clock.GetUtcNow();
        var endedRows = enrollments.Rows.Where(r => IsDeleted(r.Row) && Field(r.Row, "userSourcedId") is not null)
            .GroupBy(r => r.Row["userSourcedId"]).ToDictionary(g => g.Key, g => g.Last().Row);
        var enrolled = enrollments.Rows.Where(r => !IsDeleted(r.Row)).Select(r => Field(r.Row, "userSourcedId")).OfType<string>().ToHashSet();
        var candidates = endedRows.Keys.Concat(enrolled).Distinct().ToList();
        var students = await db.Students.Where(s => candidates.Contains(s.StudentId)).ToListAsync(ct);
        var ids = students.Select(s => s.StudentId).ToList();
        var classesAt = (await db.SectionEnrollments.AsNoTracking().Where(e => ids.Contains(e.PersonId))
                .Join(db.Sections.AsNoTracking(), e => e.SectionId, s => s.SectionId, (e, s) => new { e.PersonId, s.SchoolId }).ToListAsync(ct))
            .Select(x => (x.PersonId, x.SchoolId)).ToHashSet();
        foreach (var student in students)
        {
            var inAClass = classesAt.Contains((student.StudentId, student.SchoolId));
            if (student.Status == StudentStatuses.Active && !inAClass && !listedActive.Contains(student.StudentId) && endedRows.TryGetValue(student.StudentId, out var row))
            {
                var code = Field(row, "metadata.exitCode") is { } c && ExitCodes.All.Contains(c) ? c : ExitCodes.Other;
                (student.Status, student.ExitedAt, student.ExitReason) = (StudentStatuses.Withdrawn, now, $"{EnrollmentsEnded} (OneRoster, source {source})");
                db.Publish(new StudentExited(student.StudentId, student.SchoolId, student.ExitReason, now, code));
            }
            else if (student.Status == StudentStatuses.Withdrawn && inAClass && student.ExitReason?.StartsWith(EnrollmentsEnded, StringComparison.Ordinal) == true)
            {
                (student.Status, student.ExitedAt, student.ExitReason) = (StudentStatuses.Active, null, null);
                db.Publish(new StudentEnrolled(student.StudentId, student.SchoolId, student.GivenName, student.FamilyName, student.GradeLevel, now));
            }
        }
        await db.SaveChangesAsync(ct);
    }

    private const string EnrollmentsEnded = "last class enrollment at the school ended in enrollments.csv";

    /// <summary>
    /// Parents, guardians and relatives linked to students through agentSourcedIds (on the contact's row, the student's, or
    /// both), kept as the student's contacts; new or changed ones are published. Returns the contacts added.
    /// </summary>
    private async Task<int> KeepContactsAsync(List<(Dictionary<string, string> Row, string Role)> contacts, List<Dictionary<string, string>> studentUsers, CancellationToken ct)
    {
        static IEnumerable<string> Agents(Dictionary<string, string> row) =>
            Field(row, "agentSourcedIds")?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [];
        var byId = contacts.Where(c => Field(c.Row, "sourcedId") is not null).GroupBy(c => c.Row["sourcedId"]).ToDictionary(g => g.Key, g => g.Last());
        var pairs = byId.SelectMany(c => Agents(c.Value.Row).Select(student => (Student: student, Contact: c.Key)))
            .Concat(studentUsers.Where(s => Field(s, "sourcedId") is not null).SelectMany(s => Agents(s).Where(byId.ContainsKey).Select(contact => (Student: s["sourcedId"], Contact: contact))))
            .Distinct().ToList();
        var studentIds = pairs.Select(p => p.Student).Distinct().ToList();
        var onRoster = (await db.Students.AsNoTracking().Where(s => studentIds.Contains(s.StudentId)).Select(s => s.StudentId).ToListAsync(ct)).ToHashSet();
        var existing = await db.StudentContacts.Where(c => studentIds.Contains(c.StudentId)).ToDictionaryAsync(c => (c.StudentId, c.ContactId), ct);
        var now = clock.GetUtcNow();
        var added = 0;
        foreach (var (student, contactId) in pairs.Where(p => onRoster.Contains(p.Student)))
        {
            var (row, role) = byId[contactId];
            var incoming = new StudentContact
            {
                StudentId = student,
                ContactId = contactId,
                Relationship = role,
                GivenName = Field(row, "givenName") ?? "",
                FamilyName = Field(row, "familyName") ?? "",
                Email = Field(row, "email"),
                Phone = Field(row, "phone"),
                Sms = Field(row, "sms"),
            };
            if (existing.TryGetValue((student, contactId), out var stored))
            {
                if ((stored.Relationship, stored.GivenName, stored.FamilyName, stored.Email, stored.Phone, stored.Sms)
                    == (incoming.Relationship, incoming.GivenName, incoming.FamilyName, incoming.Email, incoming.Phone, incoming.Sms))
                {
                    continue;
                }
                db.Entry(stored).CurrentValues.SetValues(incoming);
            }
            else
            {
                existing[(student, contactId)] = db.StudentContacts.Add(incoming).Entity;
                added++;
            }
            db.Publish(new StudentContactRecorded(student, contactId, role, incoming.GivenName, incoming.FamilyName, incoming.Email, incoming.Phone, incoming.Sms, now));
        }
        await db.SaveChangesAsync(ct);
        return added;
    }

    /// <summary>academicSessions.csv: school years, semesters, terms and grading periods (tobedeleted removes one). Returns the sessions added.</summary>
    private async Task<int> KeepSessionsAsync(Table sessions, RowErrors errors, CancellationToken ct)
    {
        var existing = await db.AcademicSessions.ToDictionaryAsync(s => s.SessionId, ct);
        var added = 0;
        foreach (var (line, row) in sessions.Rows)
        {
            var position = sessions.At(line);
            var id = Field(row, "sourcedId");
            if (id is not null && IsDeleted(row))
            {
                if (existing.Remove(id, out var gone))
                {
                    db.AcademicSessions.Remove(gone);
                }
                continue;
            }
            var raw = string.Join(',', row.Values);
            var (start, end) = (Date(Field(row, "startDate")), Date(Field(row, "endDate")));
            var type = Field(row, "type");
            var problems = new List<(string Field, string Reason)>();
            if (id is null || id.Length > Rules.MaxIdLength)
            {
                problems.Add(("sourcedId", $"is required (at most {Rules.MaxIdLength} characters)."));
            }
            if (type is null || !SessionTypes.Contains(type))
            {
                problems.Add(("type", $"'{Rules.Show(type)}' is not a session type; use {string.Join(", ", SessionTypes)}."));
            }
            if (start is null || end is null || end < start)
            {
                problems.Add((start is null ? "startDate" : "endDate", start is null || end is null ? "is required (yyyy-MM-dd)." : "is before startDate."));
            }
            foreach (var (field, reason) in problems)
            {
                errors.Add(position, raw, field, reason);
            }
            if (problems.Count > 0)
            {
                continue;
            }
            var incoming = new AcademicSession
            {
                SessionId = id!,
                Title = Field(row, "title") ?? id!,
                Type = type!,
                StartDate = start!.Value,
                EndDate = end!.Value,
                ParentId = Field(row, "parentSourcedId"),
                SchoolYear = Field(row, "schoolYear"),
            };
            if (incoming.Type == "schoolYear")
            {
                // A school year's first and last day become the district's calendar year (Early warning counts school days by it).
                await CalendarProcessor.RecordSessionYearAsync(db, incoming, clock.GetUtcNow(), ct);
            }
            if (existing.TryGetValue(incoming.SessionId, out var stored))
            {
                db.Entry(stored).CurrentValues.SetValues(incoming);
            }
            else
            {
                existing[incoming.SessionId] = db.AcademicSessions.Add(incoming).Entity;
                added++;
            }
        }
        await db.SaveChangesAsync(ct);
        return added;
    }

    /// <summary>A OneRoster date (yyyy-MM-dd; a date-time's date part is taken too).</summary>
    private static DateOnly? Date(string? text) =>
        text is { Length: >= 10 } && DateOnly.TryParseExact(text[..10], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date) ? date : null;
}
