using Beacon.Contracts.Events;
using Beacon.Ingestion.Apis;
using Beacon.Ingestion.Domain;
using Beacon.Ingestion.Governance;
using Beacon.Ingestion.Storage;
using Beacon.Messaging;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Intake;

public sealed record ChunkCounts(int Accepted, int Unchanged, int Corrected, int Late = 0);

/// <summary>
/// Validates and stores one kind of signal, a chunk at a time. One instance serves one batch, so it can
/// remember natural keys across chunks (a duplicate within a batch is rejected, not counted twice).
/// Stored rows and their events are added to the context; the caller saves.
/// </summary>
public interface ISignalProcessor<TRow>
{
    string Kind { get; }
    Task<ChunkCounts> ProcessAsync(IReadOnlyList<Positioned<TRow>> rows, RowErrors errors, IngestionDbContext db, DateTimeOffset now, CancellationToken ct);

    /// <summary>
    /// Stores the last chunk's rows that are new to the store, which the processor kept out of the change tracker (a bulk
    /// insert); called by <see cref="SignalIntake"/> inside the chunk's transaction, before the tracked rest is saved.
    /// </summary>
    Task WriteNewAsync(IngestionDbContext db, CancellationToken ct) => Task.CompletedTask;
}

/// <summary>
/// The natural keys a batch has held so far, each with the position of its first row. Another row with a key is a
/// duplicate within the batch; the same row again is its chunk processed a second time (<see cref="SignalIntake"/>
/// does when a concurrent batch stored one of the chunk's keys first), not a duplicate.
/// </summary>
public sealed class BatchKeys<TKey>
    where TKey : notnull
{
    private readonly Dictionary<TKey, string> _first = [];

    /// <summary>True when the row at <paramref name="position"/> is the first with this key; else <paramref name="first"/> names that row.</summary>
    public bool Claim(TKey key, string position, out string first)
    {
        if (_first.TryAdd(key, position))
        {
            first = position;
            return true;
        }
        first = _first[key];
        return first == position;
    }
}

internal static class SchoolDays
{
    public static DateOnly Today(DateTimeOffset now) => DateOnly.FromDateTime(now.UtcDateTime);
    public static DateOnly Parse(string text) => DateOnly.ParseExact(text, "yyyy-MM-dd");

    /// <summary>Records for a day this many days back or more are counted as late arrivals.</summary>
    public const int LateAfterDays = 3;

    public static async Task<Dictionary<string, string>> SchoolOfAsync(IngestionDbContext db, IEnumerable<string?> studentIds, CancellationToken ct)
    {
        var ids = studentIds.OfType<string>().Distinct().ToList();
        // EF.Parameter: the ids as one array parameter (json_each on SQLite, = ANY on PostgreSQL). EF 10's default, a parameter
        // per id, costs Microsoft.Data.Sqlite a linear search per parameter it binds: quadratic in a chunk's 2,000 rows.
        return await db.Students.AsNoTracking().Where(s => EF.Parameter(ids).Contains(s.StudentId)).ToDictionaryAsync(s => s.StudentId, s => s.SchoolId, ct);
    }
}

public sealed class AttendanceProcessor : ISignalProcessor<AttendanceRow>
{
    /// <summary>Records per published event: one message per record cost the broker and consumers more than the work.</summary>
    public const int AttendanceRecordsPerEvent = 500;

    private readonly BatchKeys<(string, DateOnly, string)> _seen = new();
    private readonly List<AttendanceRecord> _new = [];

    public string Kind => "attendance";

    public Task WriteNewAsync(IngestionDbContext db, CancellationToken ct) => db.InsertNewAsync(_new, ct);

    public async Task<ChunkCounts> ProcessAsync(IReadOnlyList<Positioned<AttendanceRow>> rows, RowErrors errors, IngestionDbContext db, DateTimeOffset now, CancellationToken ct)
    {
        // A chunk processed again (after a lost race on a key) starts from nothing.
        _new.Clear();
        rows = await db.RefuseErasedAsync(rows, r => r.StudentId, errors, ct);
        var schoolOf = await SchoolDays.SchoolOfAsync(db, rows.Select(r => r.Row.StudentId), ct);
        var validator = new AttendanceRowValidator(schoolOf.ContainsKey, SchoolDays.Today(now));
        var valid = rows.Where(r => errors.Validate(validator, r)).ToList();
        if (valid.Count == 0)
        {
            return new ChunkCounts(0, 0, 0);
        }

        var ids = valid.Select(r => r.Row.StudentId!).Distinct().ToList();
        var dates = valid.Select(r => SchoolDays.Parse(r.Row.Date!)).ToList();
        var (from, to) = (dates.Min(), dates.Max());
        var existing = await db.Attendance.Where(a => EF.Parameter(ids).Contains(a.StudentId) && a.Date >= from && a.Date <= to)
            .ToDictionaryAsync(a => (a.StudentId, a.Date, a.Period), ct);

        int accepted = 0, unchanged = 0, corrected = 0, late = 0;
        var lateBefore = SchoolDays.Today(now).AddDays(-SchoolDays.LateAfterDays);
        var recorded = new List<AttendanceRecorded>(valid.Count);
        foreach (var positioned in valid)
        {
            var row = positioned.Row;
            var key = (row.StudentId!, SchoolDays.Parse(row.Date!), row.Period ?? "");
            if (!_seen.Claim(key, positioned.Position, out var first))
            {
                errors.Add(positioned, "date", $"duplicates {first} (same student, date and period in one batch).");
                continue;
            }
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
                _new.Add(new AttendanceRecord { StudentId = key.Item1, Date = key.Item2, Period = key.Item3, Status = row.Status!, SchoolId = schoolId, RecordedAt = now });
                accepted++;
                late += key.Item2 < lateBefore ? 1 : 0;
            }
            recorded.Add(new AttendanceRecorded(key.Item1, schoolId, key.Item2, row.Status!, isCorrection, now, key.Item3.Length == 0 ? null : key.Item3));
        }
        foreach (var records in recorded.Chunk(AttendanceRecordsPerEvent))
        {
            db.Publish(new AttendanceBatchRecorded(records));
        }
        return new ChunkCounts(accepted, unchanged, corrected, late);
    }
}

public sealed class ItemResponseProcessor : ISignalProcessor<ItemResponseRow>
{
    /// <summary>Answers per published event, in upload order: one message per answer cost more than the work, as for attendance.</summary>
    public const int ItemResponsesPerEvent = 500;

    private readonly BatchKeys<(string, string, int)> _seen = new();
    private readonly List<ItemResponse> _new = [];

    public string Kind => "item-responses";

    public Task WriteNewAsync(IngestionDbContext db, CancellationToken ct) => db.InsertNewAsync(_new, ct);

    public async Task<ChunkCounts> ProcessAsync(IReadOnlyList<Positioned<ItemResponseRow>> rows, RowErrors errors, IngestionDbContext db, DateTimeOffset now, CancellationToken ct)
    {
        // A chunk processed again (after a lost race on a key) starts from nothing.
        _new.Clear();
        rows = await db.RefuseErasedAsync(rows, r => r.StudentId, errors, ct);
        var schoolOf = await SchoolDays.SchoolOfAsync(db, rows.Select(r => r.Row.StudentId), ct);
        var validator = new ItemResponseRowValidator(schoolOf.ContainsKey, now);
        var valid = rows.Where(r => errors.Validate(validator, r)).ToList();
        var ids = valid.Select(r => r.Row.StudentId!).Distinct().ToList();
        var items = valid.Select(r => r.Row.ItemId!).Distinct().ToList();
        var existing = (await db.ItemResponses.AsNoTracking().Where(r => EF.Parameter(ids).Contains(r.StudentId) && EF.Parameter(items).Contains(r.ItemId))
            .Select(r => new { r.StudentId, r.ItemId, r.AttemptNumber }).ToListAsync(ct))
            .Select(r => (r.StudentId, r.ItemId, r.AttemptNumber)).ToHashSet();

        int accepted = 0, unchanged = 0;
        var recorded = new List<ItemResponseRecorded>(valid.Count);
        foreach (var positioned in valid)
        {
            var row = positioned.Row;
            var key = (row.StudentId!, row.ItemId!, row.AttemptNumber!.Value);
            if (!_seen.Claim(key, positioned.Position, out _))
            {
                errors.Add(positioned, "attemptNumber", "duplicates an earlier row (same student, item and attempt in one batch).");
                continue;
            }
            // Answers are facts: a re-sent answer (same student, item, attempt) is ignored, not corrected.
            if (existing.Contains(key))
            {
                unchanged++;
                continue;
            }
            var response = new ItemResponse
            {
                StudentId = key.Item1,
                ItemId = key.Item2,
                AttemptNumber = key.Item3,
                SkillIds = string.Join(',', row.SkillIds!),
                Correct = row.Correct!.Value,
                HintsUsed = row.HintsUsed ?? 0,
                TimeOnTaskSeconds = row.TimeOnTaskSeconds ?? 0,
                AnsweredAt = row.AnsweredAt!.Value,
            };
            _new.Add(response);
            recorded.Add(new ItemResponseRecorded(response.StudentId, response.ItemId, row.SkillIds!, response.Correct,
                response.AttemptNumber, response.HintsUsed, response.TimeOnTaskSeconds, response.AnsweredAt));
            accepted++;
        }
        foreach (var records in recorded.Chunk(ItemResponsesPerEvent))
        {
            db.Publish(new ItemResponseBatchRecorded(records));
        }
        return new ChunkCounts(accepted, unchanged, 0);
    }
}

public sealed class GradeProcessor : ISignalProcessor<GradeRow>
{
    private readonly BatchKeys<(string, string, string)> _seen = new();

    public string Kind => "grades";

    public async Task<ChunkCounts> ProcessAsync(IReadOnlyList<Positioned<GradeRow>> rows, RowErrors errors, IngestionDbContext db, DateTimeOffset now, CancellationToken ct)
    {
        rows = await db.RefuseErasedAsync(rows, r => r.StudentId, errors, ct);
        var schoolOf = await SchoolDays.SchoolOfAsync(db, rows.Select(r => r.Row.StudentId), ct);
        var validator = new GradeRowValidator(schoolOf.ContainsKey, SchoolDays.Today(now));
        var valid = rows.Where(r => errors.Validate(validator, r)).ToList();
        var ids = valid.Select(r => r.Row.StudentId!).Distinct().ToList();
        var existing = await db.Grades.Where(g => EF.Parameter(ids).Contains(g.StudentId)).ToDictionaryAsync(g => (g.StudentId, g.CourseId, g.Term), ct);

        int accepted = 0, unchanged = 0, corrected = 0;
        foreach (var positioned in valid)
        {
            var row = positioned.Row;
            var key = (row.StudentId!, row.CourseId!, row.Term!);
            if (!_seen.Claim(key, positioned.Position, out var first))
            {
                errors.Add(positioned, "courseId", $"duplicates {first} (same student, course and term in one batch).");
                continue;
            }
            var date = SchoolDays.Parse(row.Date!);
            var isCorrection = false;
            if (existing.TryGetValue(key, out var grade))
            {
                if (grade.MarkPercent.Equals(row.MarkPercent!.Value) && grade.Date == date)
                {
                    unchanged++;
                    continue;
                }
                grade.MarkPercent = row.MarkPercent.Value;
                grade.Date = date;
                isCorrection = true;
                corrected++;
            }
            else
            {
                db.Grades.Add(new GradeRecord { StudentId = key.Item1, CourseId = key.Item2, Term = key.Item3, MarkPercent = row.MarkPercent!.Value, Date = date, RecordedAt = now });
                accepted++;
            }
            db.Publish(new GradeRecorded(key.Item1, schoolOf[key.Item1], key.Item2, key.Item3, row.MarkPercent!.Value, date, isCorrection, now));
        }
        return new ChunkCounts(accepted, unchanged, corrected);
    }
}

public sealed class BehaviorIncidentProcessor : ISignalProcessor<BehaviorIncidentRow>
{
    private readonly BatchKeys<string> _seen = new();

    public string Kind => "behavior-incidents";

    public async Task<ChunkCounts> ProcessAsync(IReadOnlyList<Positioned<BehaviorIncidentRow>> rows, RowErrors errors, IngestionDbContext db, DateTimeOffset now, CancellationToken ct)
    {
        rows = await db.RefuseErasedAsync(rows, r => r.StudentId, errors, ct);
        var schoolOf = await SchoolDays.SchoolOfAsync(db, rows.Select(r => r.Row.StudentId), ct);
        var validator = new BehaviorIncidentRowValidator(schoolOf.ContainsKey, SchoolDays.Today(now));
        var valid = rows.Where(r => errors.Validate(validator, r)).ToList();
        var incidentIds = valid.Select(r => r.Row.IncidentId!).Distinct().ToList();
        var existing = await db.BehaviorIncidents.Where(b => EF.Parameter(incidentIds).Contains(b.IncidentId)).ToDictionaryAsync(b => b.IncidentId, ct);

        int accepted = 0, unchanged = 0, corrected = 0;
        foreach (var positioned in valid)
        {
            var row = positioned.Row;
            if (!_seen.Claim(row.IncidentId!, positioned.Position, out var first))
            {
                errors.Add(positioned, "incidentId", $"duplicates {first} (same incident id in one batch).");
                continue;
            }
            var incoming = new BehaviorIncident
            {
                IncidentId = row.IncidentId!,
                StudentId = row.StudentId!,
                Date = SchoolDays.Parse(row.Date!),
                Category = row.Category!,
                Severity = row.Severity!,
                RecordedAt = now,
            };
            var isCorrection = false;
            if (existing.TryGetValue(incoming.IncidentId, out var stored))
            {
                if (stored.StudentId == incoming.StudentId && stored.Date == incoming.Date && stored.Category == incoming.Category && stored.Severity == incoming.Severity)
                {
                    unchanged++;
                    continue;
                }
                db.Entry(stored).CurrentValues.SetValues(incoming);
                isCorrection = true;
                corrected++;
            }
            else
            {
                db.BehaviorIncidents.Add(incoming);
                accepted++;
            }
            db.Publish(new BehaviorIncidentRecorded(incoming.IncidentId, incoming.StudentId, schoolOf[incoming.StudentId], incoming.Date,
                incoming.Category, incoming.Severity, isCorrection, now));
        }
        return new ChunkCounts(accepted, unchanged, corrected);
    }
}

public sealed class LmsActivityProcessor : ISignalProcessor<LmsActivityRow>
{
    private readonly BatchKeys<string> _seen = new();

    public string Kind => "lms-activity";

    public async Task<ChunkCounts> ProcessAsync(IReadOnlyList<Positioned<LmsActivityRow>> rows, RowErrors errors, IngestionDbContext db, DateTimeOffset now, CancellationToken ct)
    {
        rows = await db.RefuseErasedAsync(rows, r => r.StudentId, errors, ct);
        var schoolOf = await SchoolDays.SchoolOfAsync(db, rows.Select(r => r.Row.StudentId), ct);
        var validator = new LmsActivityRowValidator(schoolOf.ContainsKey, now);
        var valid = rows.Where(r => errors.Validate(validator, r)).ToList();
        var ids = valid.Select(r => r.Row.StatementId!).Distinct().ToList();
        var existing = (await db.LmsActivities.AsNoTracking().Where(a => EF.Parameter(ids).Contains(a.StatementId)).Select(a => a.StatementId).ToListAsync(ct)).ToHashSet();
        int accepted = 0, unchanged = 0;
        foreach (var positioned in valid)
        {
            var row = positioned.Row;
            if (!_seen.Claim(row.StatementId!, positioned.Position, out _))
            {
                errors.Add(positioned, "id", "duplicates an earlier statement (same statement id in one batch).");
                continue;
            }
            // A statement is immutable in xAPI: the same id again is the same statement.
            if (existing.Contains(row.StatementId!))
            {
                unchanged++;
                continue;
            }
            var activity = new LmsActivity
            {
                StatementId = row.StatementId!,
                StudentId = row.StudentId!,
                Verb = row.Verb!,
                ObjectId = row.ObjectId!,
                DurationSeconds = row.DurationSeconds ?? 0,
                Timestamp = row.Timestamp!.Value,
            };
            db.LmsActivities.Add(activity);
            db.Publish(new LmsActivityRecorded(activity.StatementId, activity.StudentId, activity.Verb, activity.ObjectId, activity.DurationSeconds, activity.Timestamp));
            accepted++;
        }
        return new ChunkCounts(accepted, unchanged, 0);
    }
}
