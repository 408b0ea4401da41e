using Beacon.Contracts.Events;
using Beacon.Ingestion.Apis;
using Beacon.Ingestion.Domain;
using Beacon.Ingestion.Governance;
using Beacon.Ingestion.Storage;
using Beacon.Messaging;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Intake;

/// <summary>Roster rows from any format (the JSON API or OneRoster CSV), with their positions.</summary>
public sealed record RosterRows(IEnumerable<Positioned<SchoolRow>> Schools, IEnumerable<Positioned<StaffRow>> Staff, IEnumerable<Positioned<StudentRow>> Students);

/// <summary>
/// Upserts schools, staff and students. New or changed staff and students are published
/// (StaffAssigned, StudentEnrolled); re-sent unchanged rows change nothing.
/// </summary>
public sealed class RosterImport(IngestionDbContext db, SignalIntake intake, TimeProvider clock)
{
    /// <summary>Validates and upserts roster rows; the rejected ones are quarantined with the same commit.</summary>
    public async Task<BatchSummary> ApplyAsync(RosterRows rows, RowErrors errors, string source, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        int accepted = 0, unchanged = 0, corrected = 0;

        var schools = await db.Schools.ToDictionaryAsync(s => s.SchoolId, ct);
        var schoolValidator = new SchoolRowValidator();
        foreach (var positioned in rows.Schools)
        {
            var row = positioned.Row;
            if (!errors.Validate(schoolValidator, positioned))
            {
                continue;
            }
            if (schools.TryGetValue(row.SchoolId!, out var school))
            {
                // Listed again after it was closed (a tobedeleted org, a bulk file that left it out): open again.
                Count(school.Name == row.Name && school.ClosedAt is null, ref unchanged, ref corrected);
                school.Name = row.Name!;
                school.Source = source;
                school.ClosedAt = null;
            }
            else
            {
                schools[row.SchoolId!] = db.Schools.Add(new School { SchoolId = row.SchoolId!, Name = row.Name!, Source = source }).Entity;
                accepted++;
            }
        }

        var staffIds = rows.Staff.Select(s => s.Row.StaffId).OfType<string>().Distinct().ToList();
        var staff = await db.Staff.Where(s => staffIds.Contains(s.StaffId)).ToDictionaryAsync(s => s.StaffId, ct);
        var staffValidator = new StaffRowValidator(schools.ContainsKey);
        foreach (var positioned in rows.Staff)
        {
            var row = positioned.Row;
            if (!errors.Validate(staffValidator, positioned))
            {
                continue;
            }
            staff.TryGetValue(row.StaffId!, out var existing);
            var incoming = new StaffMember
            {
                StaffId = row.StaffId!,
                SchoolId = row.SchoolId!,
                Role = row.Role!,
                GivenName = row.GivenName!,
                FamilyName = row.FamilyName!,
                Email = row.Email ?? "",
                Phone = PhoneOf(positioned, existing, errors),
            };
            if (existing is not null)
            {
                var same = existing.SchoolId == incoming.SchoolId && existing.Role == incoming.Role && existing.GivenName == incoming.GivenName
                    && existing.FamilyName == incoming.FamilyName && existing.Email == incoming.Email && existing.Phone == incoming.Phone;
                Count(same, ref unchanged, ref corrected);
                if (same)
                {
                    continue;
                }
                db.Entry(existing).CurrentValues.SetValues(incoming);
            }
            else
            {
                staff[incoming.StaffId] = db.Staff.Add(incoming).Entity;
                accepted++;
            }
            db.Publish(new StaffAssigned(incoming.StaffId, incoming.SchoolId, incoming.Role, incoming.GivenName, incoming.FamilyName, incoming.Email, now,
                incoming.Phone));
        }

        var studentRows = await db.RefuseErasedAsync(rows.Students.ToList(), r => r.StudentId, errors, ct);
        var studentIds = studentRows.Select(s => s.Row.StudentId).OfType<string>().Distinct().ToList();
        var students = await db.Students.Where(s => studentIds.Contains(s.StudentId)).ToDictionaryAsync(s => s.StudentId, ct);
        var studentValidator = new StudentRowValidator(schools.ContainsKey);
        foreach (var positioned in studentRows)
        {
            var row = positioned.Row;
            if (!errors.Validate(studentValidator, positioned))
            {
                continue;
            }
            var incoming = new Student
            {
                StudentId = row.StudentId!,
                SchoolId = row.SchoolId!,
                GivenName = row.GivenName!,
                FamilyName = row.FamilyName!,
                GradeLevel = row.GradeLevel ?? "",
                // The one place a student's names are written (CSV rosters, OneRoster bundles and REST pulls all
                // come here), so the search key is set here and cannot go stale.
                SearchKey = StudentSearch.Key(row.GivenName!, row.FamilyName!, row.StudentId!),
            };
            if (students.TryGetValue(incoming.StudentId, out var existing))
            {
                // A withdrawn student sent again is enrolled again (the new values carry Status active).
                var same = existing.SchoolId == incoming.SchoolId && existing.GivenName == incoming.GivenName
                    && existing.FamilyName == incoming.FamilyName && existing.GradeLevel == incoming.GradeLevel && existing.Status == StudentStatuses.Active;
                Count(same, ref unchanged, ref corrected);
                if (same)
                {
                    continue;
                }
                db.Entry(existing).CurrentValues.SetValues(incoming);
            }
            else
            {
                students[incoming.StudentId] = db.Students.Add(incoming).Entity;
                accepted++;
            }
            db.Publish(new StudentEnrolled(incoming.StudentId, incoming.SchoolId, incoming.GivenName, incoming.FamilyName, incoming.GradeLevel, now));
        }

        // The roster's rejected rows join the quarantine in the same transaction as its valid rows.
        var batchId = $"roster-{now:yyyyMMddHHmmssfff}";
        intake.Quarantine("roster", new BatchContext(batchId, source), errors.TakePending(), now);
        await db.SaveChangesAsync(ct);
        return new BatchSummary(batchId, "roster", source, accepted + unchanged + corrected + errors.RejectedRows, accepted, unchanged, corrected, errors.RejectedRows);
    }

    /// <summary>
    /// The row's mobile number in E.164 form; none when the row has none. A number that is not one is a row error on
    /// "phone", but only the number is left out: the staff member is still stored (and keeps the number stored before,
    /// if any), since a typo in an optional column should not take a counselor off the roster.
    /// </summary>
    private static string? PhoneOf(Positioned<StaffRow> row, StaffMember? existing, RowErrors errors)
    {
        if (string.IsNullOrWhiteSpace(row.Row.Phone))
        {
            return null;
        }
        if (PhoneNumbers.TryNormalize(row.Row.Phone, out var e164))
        {
            return e164;
        }
        errors.AddKept(row, "phone", $"'{Rules.Show(row.Row.Phone)}' is not {PhoneNumbers.Rule}; the row was stored without it.");
        return existing?.Phone;
    }

    private static void Count(bool same, ref int unchanged, ref int corrected)
    {
        if (same)
        {
            unchanged++;
        }
        else
        {
            corrected++;
        }
    }
}
