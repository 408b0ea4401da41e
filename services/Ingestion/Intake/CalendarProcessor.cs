using Beacon.Contracts.Events;
using Beacon.Ingestion.Apis;
using Beacon.Ingestion.Domain;
using Beacon.Ingestion.Storage;
using Beacon.Messaging;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Intake;

/// <summary>
/// School calendars (POST /calendars, JSON or CSV): school years and their non-instructional days, checked line by line
/// (a break needs its year's first and last day, from this batch or an earlier one, and must lie inside it; two years of
/// one calendar may not overlap). Every calendar year a chunk changed is published whole as
/// <see cref="SchoolCalendarRecorded"/>, so a consumer replaces what it held and redelivery changes nothing.
/// </summary>
public sealed class CalendarProcessor : ISignalProcessor<CalendarRow>
{
    private readonly BatchKeys<(string, string, string, DateOnly)> _seen = new();

    public string Kind => "calendar";

    public async Task<ChunkCounts> ProcessAsync(IReadOnlyList<Positioned<CalendarRow>> rows, RowErrors errors, IngestionDbContext db, DateTimeOffset now, CancellationToken ct)
    {
        var schoolIds = rows.Select(r => r.Row.SchoolId).Where(s => !string.IsNullOrEmpty(s)).Distinct().ToList();
        var schools = (await db.Schools.AsNoTracking().Where(s => schoolIds.Contains(s.SchoolId)).Select(s => s.SchoolId).ToListAsync(ct)).ToHashSet();
        var validator = new CalendarRowValidator(schools.Contains);
        var valid = rows.Where(r => errors.Validate(validator, r)).ToList();
        if (valid.Count == 0)
        {
            return new ChunkCounts(0, 0, 0);
        }
        // Calendars are small (a line per break per school and year): the whole table is read, tracked, and changed in memory.
        var book = await CalendarBook.LoadAsync(db, ct);
        int accepted = 0, unchanged = 0, corrected = 0;
        var changed = new HashSet<(string School, string Year)>();
        // Years first, so a batch may list a year's breaks before the year itself.
        foreach (var positioned in valid.OrderBy(r => r.Row.Type == CalendarEntryTypes.SchoolYear ? 0 : 1))
        {
            var row = positioned.Row;
            var entry = new CalendarEntry
            {
                SchoolId = row.SchoolId ?? "",
                SchoolYear = row.SchoolYear!,
                Type = row.Type!,
                StartDate = SchoolDays.Parse(row.StartDate!),
                EndDate = string.IsNullOrEmpty(row.EndDate) ? SchoolDays.Parse(row.StartDate!) : SchoolDays.Parse(row.EndDate),
                Description = row.Description ?? "",
                Source = "calendar",
                RecordedAt = now,
            };
            var key = (entry.SchoolId, entry.SchoolYear, entry.Type, entry.Type == CalendarEntryTypes.SchoolYear ? DateOnly.MinValue : entry.StartDate);
            if (!_seen.Claim(key, positioned.Position, out var first))
            {
                errors.Add(positioned, "startDate", $"duplicates {first} (the same calendar line in one batch).");
                continue;
            }
            if (book.Problem(entry) is { } problem)
            {
                errors.Add(positioned, problem.Field, problem.Reason);
                continue;
            }
            switch (book.Upsert(db, entry))
            {
                case CalendarChange.Added:
                    accepted++;
                    break;
                case CalendarChange.Changed:
                    corrected++;
                    break;
                default:
                    unchanged++;
                    continue;
            }
            changed.Add((entry.SchoolId, entry.SchoolYear));
        }
        foreach (var (school, year) in changed)
        {
            db.Publish(book.Event(school, year, now));
        }
        return new ChunkCounts(accepted, unchanged, corrected);
    }

    /// <summary>
    /// A OneRoster schoolYear session becomes the district's school year (its label the session's schoolYear, else its title),
    /// unless the district's calendar already has an overlapping year under another name. The caller saves.
    /// </summary>
    public static async Task RecordSessionYearAsync(IngestionDbContext db, AcademicSession session, DateTimeOffset now, CancellationToken ct)
    {
        var book = await CalendarBook.LoadAsync(db, ct);
        var entry = new CalendarEntry
        {
            SchoolYear = session.SchoolYear ?? session.Title,
            Type = CalendarEntryTypes.SchoolYear,
            StartDate = session.StartDate,
            EndDate = session.EndDate,
            Description = session.Title,
            Source = $"oneroster:{session.SessionId}",
            RecordedAt = now,
        };
        if (book.Problem(entry) is null && book.Upsert(db, entry) != CalendarChange.None)
        {
            db.Publish(book.Event("", entry.SchoolYear, now));
        }
    }
}

internal enum CalendarChange { None, Added, Changed }

/// <summary>The calendar lines held, tracked by the context, with the rules that tie them together.</summary>
internal sealed class CalendarBook(List<CalendarEntry> entries)
{
    /// <summary>Stored lines and those added in this unit of work but not saved yet (Local holds both, not the removed).</summary>
    public static async Task<CalendarBook> LoadAsync(IngestionDbContext db, CancellationToken ct)
    {
        await db.CalendarEntries.LoadAsync(ct);
        return new CalendarBook([.. db.CalendarEntries.Local]);
    }

    private CalendarEntry? Year(string school, string year) =>
        entries.FirstOrDefault(e => e.SchoolId == school && e.SchoolYear == year && e.Type == CalendarEntryTypes.SchoolYear);

    public (string Field, string Reason)? Problem(CalendarEntry entry)
    {
        if (entry.Type == CalendarEntryTypes.SchoolYear)
        {
            var clash = entries.FirstOrDefault(e => e.SchoolId == entry.SchoolId && e.Type == CalendarEntryTypes.SchoolYear && e.SchoolYear != entry.SchoolYear
                && e.StartDate <= entry.EndDate && entry.StartDate <= e.EndDate);
            return clash is null ? null
                : ("startDate", $"overlaps school year '{Rules.Show(clash.SchoolYear)}' ({clash.StartDate:yyyy-MM-dd} to {clash.EndDate:yyyy-MM-dd}) of the same calendar.");
        }
        // A school's break lies in the school's own year, else the district's.
        var year = Year(entry.SchoolId, entry.SchoolYear) ?? Year("", entry.SchoolYear);
        if (year is null)
        {
            return ("schoolYear", $"school year '{Rules.Show(entry.SchoolYear)}' has no first and last day yet: send its school-year line first (or in the same batch).");
        }
        return entry.StartDate < year.StartDate || entry.EndDate > year.EndDate
            ? ("startDate", $"{entry.StartDate:yyyy-MM-dd} to {entry.EndDate:yyyy-MM-dd} is not inside school year '{Rules.Show(entry.SchoolYear)}' ({year.StartDate:yyyy-MM-dd} to {year.EndDate:yyyy-MM-dd}).")
            : null;
    }

    /// <summary>Adds the line or changes the stored one (a school year has one line: a new first day replaces it).</summary>
    public CalendarChange Upsert(IngestionDbContext db, CalendarEntry entry)
    {
        var stored = entry.Type == CalendarEntryTypes.SchoolYear
            ? Year(entry.SchoolId, entry.SchoolYear)
            : entries.FirstOrDefault(e => e.SchoolId == entry.SchoolId && e.SchoolYear == entry.SchoolYear && e.Type == entry.Type && e.StartDate == entry.StartDate);
        if (stored is not null && stored.StartDate == entry.StartDate)
        {
            if ((stored.EndDate, stored.Description) == (entry.EndDate, entry.Description))
            {
                return CalendarChange.None;
            }
            (stored.EndDate, stored.Description, stored.Source, stored.RecordedAt) = (entry.EndDate, entry.Description, entry.Source, entry.RecordedAt);
            return CalendarChange.Changed;
        }
        if (stored is not null)
        {
            // The key holds the first day: a moved first day is a new row in place of the old.
            db.CalendarEntries.Remove(stored);
            entries.Remove(stored);
        }
        db.CalendarEntries.Add(entry);
        entries.Add(entry);
        return stored is null ? CalendarChange.Added : CalendarChange.Changed;
    }

    public SchoolCalendarRecorded Event(string school, string year, DateTimeOffset now)
    {
        var own = Year(school, year);
        var breaks = entries.Where(e => e.SchoolId == school && e.SchoolYear == year && e.Type == CalendarEntryTypes.NonInstructional)
            .OrderBy(e => e.StartDate).Select(e => new NonInstructionalDays(e.StartDate, e.EndDate, e.Description)).ToList();
        return new SchoolCalendarRecorded(school.Length == 0 ? null : school, year, own?.StartDate, own?.EndDate, breaks, now);
    }
}
