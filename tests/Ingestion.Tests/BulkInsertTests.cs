using Beacon.Ingestion.Domain;
using Beacon.Ingestion.Storage;
using Beacon.ServiceDefaults;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// New attendance and answers are stored by <see cref="BulkInsert.InsertNewAsync"/>, outside the change tracker, on SQLite
/// (<see cref="PostgresBulkInsertTests"/>: PostgreSQL). What the intake relies on: rows stored exactly as SaveChanges
/// stores them (the next batch's lookups by date and key find them), more rows than one statement holds, nothing outside
/// a transaction, and a key already stored failing as a unique violation with nothing of the statement kept.
/// </summary>
public class BulkInsertTests : ServiceOnEitherDatabase<Program, IngestionDbContext>
{
    protected override Dictionary<string, string?> Settings => [];

    private static AttendanceRecord Record(string student, int day, string status = "present") => new()
    {
        StudentId = student,
        Date = new DateOnly(2026, 1, 5).AddDays(day),
        Period = day % 3 == 0 ? "" : $"p{day % 3}",
        Status = status,
        SchoolId = "bulk-school",
        RecordedAt = new DateTimeOffset(2026, 1, 5, 8, 30, 15, 123, TimeSpan.Zero).AddMinutes(day),
    };

    [SkippableFact]
    public async Task Rows_inserted_in_bulk_read_back_as_rows_saved_through_the_change_tracker_and_span_several_statements()
    {
        SkipUnlessRunning();
        var (bulk, tracked) = ($"bulk-{Guid.NewGuid():N}"[..16], $"ef-{Guid.NewGuid():N}"[..16]);
        // 3,000 rows: more than one PostgreSQL statement holds (8,000 parameters / 6 columns).
        var rows = Enumerable.Range(0, 3000).Select(i => Record(bulk, i, i % 7 == 0 ? "absent" : "present")).ToList();
        var inserted = await Service.WithDbAsync<IngestionDbContext, int>(async db =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            var count = await db.InsertNewAsync(rows, CancellationToken.None);
            await transaction.CommitAsync();
            db.Attendance.AddRange(Enumerable.Range(0, 3000).Select(i => Record(tracked, i, i % 7 == 0 ? "absent" : "present")));
            await db.SaveChangesAsync();
            return count;
        });
        Assert.Equal(3000, inserted);

        var (fromBulk, fromTracker) = await Service.WithDbAsync<IngestionDbContext, (List<AttendanceRecord>, List<AttendanceRecord>)>(async db =>
            (await db.Attendance.AsNoTracking().Where(a => a.StudentId == bulk).OrderBy(a => a.Date).ToListAsync(),
             await db.Attendance.AsNoTracking().Where(a => a.StudentId == tracked).OrderBy(a => a.Date).ToListAsync()));
        Assert.Equal(3000, fromBulk.Count);
        Assert.Equal(
            fromTracker.Select(a => (a.Date, a.Period, a.Status, a.SchoolId, a.RecordedAt)),
            fromBulk.Select(a => (a.Date, a.Period, a.Status, a.SchoolId, a.RecordedAt)));
        Assert.Equal(rows.Select(a => (a.Date, a.Period, a.Status, a.RecordedAt)), fromBulk.Select(a => (a.Date, a.Period, a.Status, a.RecordedAt)));

        // The lookup the next batch makes (by key and date range) finds bulk rows as it finds tracked ones.
        var (from, to) = (rows[100].Date, rows[199].Date);
        var found = await Service.WithDbAsync<IngestionDbContext, int[]>(async db =>
            [await db.Attendance.CountAsync(a => a.StudentId == bulk && a.Date >= from && a.Date <= to),
             await db.Attendance.CountAsync(a => a.StudentId == tracked && a.Date >= from && a.Date <= to)]);
        Assert.Equal(100, found[0]);
        Assert.Equal(found[1], found[0]);
    }

    [SkippableFact]
    public async Task A_bulk_insert_outside_a_transaction_is_refused_and_a_stored_key_fails_as_a_unique_violation_keeping_nothing()
    {
        SkipUnlessRunning();
        var student = $"dup-{Guid.NewGuid():N}"[..16];
        await Service.WithDbAsync<IngestionDbContext, bool>(async db =>
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => db.InsertNewAsync([Record(student, 0)], CancellationToken.None));
            await using var transaction = await db.Database.BeginTransactionAsync();
            await db.InsertNewAsync([Record(student, 0)], CancellationToken.None);
            await transaction.CommitAsync();
            return true;
        });

        // Day 1 is new, day 0 is stored: the statement fails whole and its transaction rolls back.
        var error = await Assert.ThrowsAnyAsync<Exception>(() => Service.WithDbAsync<IngestionDbContext, int>(async db =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            return await db.InsertNewAsync([Record(student, 1), Record(student, 0, "absent")], CancellationToken.None);
        }));
        Assert.True(UniqueViolation.Is(error), error.ToString());
        var stored = await Service.WithDbAsync<IngestionDbContext, List<AttendanceRecord>>(db => db.Attendance.AsNoTracking().Where(a => a.StudentId == student).ToListAsync());
        Assert.Equal(("present", 0), (Assert.Single(stored).Status, stored[0].Date.DayNumber - new DateOnly(2026, 1, 5).DayNumber));
    }
}

public sealed class PostgresBulkInsertTests : BulkInsertTests
{
    protected override bool OnPostgres => true;
}
