using Beacon.Contracts.Events;
using Beacon.Ingestion.Domain;
using Beacon.Ingestion.Storage;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Api;

/// <summary>
/// Write side of Ingestion. Every batch keeps its valid rows (one transaction for all of them, with
/// their events in the outbox) and reports each rejected row by index, field and reason.
/// Re-sending a row with the same natural key and values changes nothing; new values are a correction.
/// </summary>
public static class IngestionEndpoints
{
    public static IEndpointRouteBuilder MapIngestionEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/ingestion/v1");
        api.MapPost("/roster", PostRosterAsync);
        api.MapPost("/attendance", PostAttendanceAsync);
        api.MapPost("/item-responses", PostItemResponsesAsync);
        return app;
    }

    private static async Task<IResult> PostRosterAsync(HttpRequest request, IngestionDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var (batch, problem) = await JsonBody.ReadAsync<RosterBatch>(request, ct);
        if (batch is null)
        {
            return problem!;
        }
        var now = clock.GetUtcNow();
        var errors = new BatchErrors();
        int accepted = 0, unchanged = 0, corrected = 0;

        var schools = await db.Schools.ToDictionaryAsync(s => s.SchoolId, ct);
        var schoolValidator = new SchoolRowValidator();
        foreach (var (row, i) in (batch.Schools ?? []).Select((r, i) => (r, i)))
        {
            if (!errors.Validate(schoolValidator, "schools", i, row))
            {
                continue;
            }
            if (schools.TryGetValue(row.SchoolId!, out var school))
            {
                Count(school.Name == row.Name, ref unchanged, ref corrected);
                school.Name = row.Name!;
            }
            else
            {
                schools[row.SchoolId!] = db.Schools.Add(new School { SchoolId = row.SchoolId!, Name = row.Name! }).Entity;
                accepted++;
            }
        }

        var staffIds = (batch.Staff ?? []).Select(s => s.StaffId).OfType<string>().Distinct().ToList();
        var staff = await db.Staff.Where(s => staffIds.Contains(s.StaffId)).ToDictionaryAsync(s => s.StaffId, ct);
        var staffValidator = new StaffRowValidator(schools.ContainsKey);
        foreach (var (row, i) in (batch.Staff ?? []).Select((r, i) => (r, i)))
        {
            if (!errors.Validate(staffValidator, "staff", i, row))
            {
                continue;
            }
            var incoming = new StaffMember
            {
                StaffId = row.StaffId!,
                SchoolId = row.SchoolId!,
                Role = row.Role!,
                GivenName = row.GivenName!,
                FamilyName = row.FamilyName!,
                Email = row.Email ?? "",
            };
            if (staff.TryGetValue(incoming.StaffId, out var existing))
            {
                var same = existing.SchoolId == incoming.SchoolId && existing.Role == incoming.Role && existing.GivenName == incoming.GivenName
                    && existing.FamilyName == incoming.FamilyName && existing.Email == incoming.Email;
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
            db.Publish(new StaffAssigned(incoming.StaffId, incoming.SchoolId, incoming.Role, incoming.GivenName, incoming.FamilyName, incoming.Email, now));
        }

        var studentIds = (batch.Students ?? []).Select(s => s.StudentId).OfType<string>().Distinct().ToList();
        var students = await db.Students.Where(s => studentIds.Contains(s.StudentId)).ToDictionaryAsync(s => s.StudentId, ct);
        var studentValidator = new StudentRowValidator(schools.ContainsKey);
        foreach (var (row, i) in (batch.Students ?? []).Select((r, i) => (r, i)))
        {
            if (!errors.Validate(studentValidator, "students", i, row))
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
            };
            if (students.TryGetValue(incoming.StudentId, out var existing))
            {
                var same = existing.SchoolId == incoming.SchoolId && existing.GivenName == incoming.GivenName
                    && existing.FamilyName == incoming.FamilyName && existing.GradeLevel == incoming.GradeLevel;
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

        await db.SaveChangesAsync(ct);
        return Finish(errors, new BatchAccepted(accepted, unchanged, corrected));
    }

    private static async Task<IResult> PostAttendanceAsync(HttpRequest request, IngestionDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var (batch, problem) = await JsonBody.ReadAsync<AttendanceBatch>(request, ct);
        if (batch is null)
        {
            return problem!;
        }
        var rows = batch.Records ?? [];
        var now = clock.GetUtcNow();
        var studentIds = rows.Select(r => r.StudentId).OfType<string>().Distinct().ToList();
        var schoolOf = await db.Students.Where(s => studentIds.Contains(s.StudentId))
            .ToDictionaryAsync(s => s.StudentId, s => s.SchoolId, ct);
        var existing = await db.Attendance.Where(a => studentIds.Contains(a.StudentId))
            .ToDictionaryAsync(a => (a.StudentId, a.Date), ct);

        var validator = new AttendanceRowValidator(schoolOf.ContainsKey, DateOnly.FromDateTime(now.UtcDateTime));
        var errors = new BatchErrors();
        var seen = new Dictionary<(string, DateOnly), int>();
        int accepted = 0, unchanged = 0, corrected = 0;
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            if (!errors.Validate(validator, "records", i, row))
            {
                continue;
            }
            var key = (row.StudentId!, DateOnly.ParseExact(row.Date!, "yyyy-MM-dd"));
            if (seen.TryGetValue(key, out var first))
            {
                errors.Add("records", i, "date", $"duplicates records[{first}] (same student and date in one batch).");
                continue;
            }
            seen[key] = i;
            var schoolId = schoolOf[key.Item1];
            var isCorrection = false;
            if (existing.TryGetValue(key, out var record))
            {
                if (record.Status == row.Status)
                {
                    unchanged++;
                    continue;
                }
                record.Status = row.Status!;
                record.RecordedAt = now;
                isCorrection = true;
                corrected++;
            }
            else
            {
                db.Attendance.Add(new AttendanceRecord { StudentId = key.Item1, Date = key.Item2, Status = row.Status!, SchoolId = schoolId, RecordedAt = now });
                accepted++;
            }
            db.Publish(new AttendanceRecorded(key.Item1, schoolId, key.Item2, row.Status!, isCorrection, now));
        }

        await db.SaveChangesAsync(ct);
        return Finish(errors, new BatchAccepted(accepted, unchanged, corrected));
    }

    private static async Task<IResult> PostItemResponsesAsync(HttpRequest request, IngestionDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var (batch, problem) = await JsonBody.ReadAsync<ItemResponseBatch>(request, ct);
        if (batch is null)
        {
            return problem!;
        }
        var rows = batch.Responses ?? [];
        var studentIds = rows.Select(r => r.StudentId).OfType<string>().Distinct().ToList();
        var known = (await db.Students.Where(s => studentIds.Contains(s.StudentId)).Select(s => s.StudentId).ToListAsync(ct)).ToHashSet();
        var existing = (await db.ItemResponses.Where(r => studentIds.Contains(r.StudentId))
            .Select(r => new { r.StudentId, r.ItemId, r.AttemptNumber }).ToListAsync(ct))
            .Select(r => (r.StudentId, r.ItemId, r.AttemptNumber)).ToHashSet();

        var validator = new ItemResponseRowValidator(known.Contains, clock.GetUtcNow());
        var errors = new BatchErrors();
        int accepted = 0, unchanged = 0;
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            if (!errors.Validate(validator, "responses", i, row))
            {
                continue;
            }
            // Answers are facts: a re-sent answer (same student, item, attempt) is ignored, not corrected.
            if (!existing.Add((row.StudentId!, row.ItemId!, row.AttemptNumber!.Value)))
            {
                unchanged++;
                continue;
            }
            var response = new ItemResponse
            {
                StudentId = row.StudentId!,
                ItemId = row.ItemId!,
                AttemptNumber = row.AttemptNumber.Value,
                SkillIds = string.Join(',', row.SkillIds!),
                Correct = row.Correct!.Value,
                HintsUsed = row.HintsUsed ?? 0,
                TimeOnTaskSeconds = row.TimeOnTaskSeconds ?? 0,
                AnsweredAt = row.AnsweredAt!.Value,
            };
            db.ItemResponses.Add(response);
            db.Publish(new ItemResponseRecorded(response.StudentId, response.ItemId, row.SkillIds!, response.Correct,
                response.AttemptNumber, response.HintsUsed, response.TimeOnTaskSeconds, response.AnsweredAt));
            accepted++;
        }

        await db.SaveChangesAsync(ct);
        return Finish(errors, new BatchAccepted(accepted, unchanged, 0));
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

    private static IResult Finish(BatchErrors errors, BatchAccepted accepted) =>
        errors.Any ? JsonBody.RejectedRows(errors, accepted) : Results.Ok(accepted);
}
