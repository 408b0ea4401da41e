using System.Buffers;
using System.Text;
using Beacon.Governance;
using Beacon.RiskModels.Attendance;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;

namespace Beacon.EarlyWarning.Storage;

/// <summary>
/// Every school day of one student as one row: the same (date, status) pairs as their <see cref="AttendanceDay"/> rows, packed
/// (<see cref="AttendancePacking"/>) into a blob of about two bytes a day. Written in the unit of work that writes the day rows,
/// trimmed with them by retention and erased with the student, so a re-score reads one row per student instead of one per day.
/// </summary>
public sealed class AttendancePack
{
    public required string StudentId { get; set; }
    /// <summary>The earliest day in the pack: retention finds the packs to trim by it.</summary>
    public DateOnly FirstDate { get; set; }
    public int DayCount { get; set; }
    public required byte[] Days { get; set; }
}

/// <summary>
/// The pack's encoding and its upkeep. Format 1: a version byte; the distinct statuses (count, then each as UTF-8 with its
/// length), so any status string round-trips; the number of days; then per day, in date order, the days since the previous
/// one (the first: its day number) and its status's index, all as unsigned LEB128 varints.
/// </summary>
public static class AttendancePacking
{
    private const byte Format = 1;

    public static byte[] Encode(IEnumerable<KeyValuePair<DateOnly, string>> days)
    {
        var ordered = days.OrderBy(d => d.Key).ToArray();
        var statuses = ordered.Select(d => d.Value).Distinct(StringComparer.Ordinal).ToList();
        var index = statuses.Select((s, i) => (s, i)).ToDictionary(p => p.s, p => p.i, StringComparer.Ordinal);
        var buffer = new ArrayBufferWriter<byte>(16 + ordered.Length * 3);
        buffer.Write([Format]);
        WriteVarint(buffer, (uint)statuses.Count);
        foreach (var status in statuses)
        {
            var bytes = Encoding.UTF8.GetBytes(status);
            WriteVarint(buffer, (uint)bytes.Length);
            buffer.Write(bytes);
        }
        WriteVarint(buffer, (uint)ordered.Length);
        var previous = 0;
        foreach (var (date, status) in ordered)
        {
            WriteVarint(buffer, (uint)(date.DayNumber - previous));
            WriteVarint(buffer, (uint)index[status]);
            previous = date.DayNumber;
        }
        return buffer.WrittenSpan.ToArray();
    }

    public static List<SchoolDay> Decode(byte[] packed)
    {
        var at = 0;
        if (packed.Length == 0 || packed[at++] != Format)
        {
            throw new InvalidDataException($"An attendance pack of format {(packed.Length == 0 ? "none" : packed[0])}; this version reads format {Format}.");
        }
        var statuses = new string[ReadVarint(packed, ref at)];
        for (var s = 0; s < statuses.Length; s++)
        {
            var length = (int)ReadVarint(packed, ref at);
            statuses[s] = Encoding.UTF8.GetString(packed, at, length);
            at += length;
        }
        var count = (int)ReadVarint(packed, ref at);
        var days = new List<SchoolDay>(count);
        var day = 0;
        for (var i = 0; i < count; i++)
        {
            day += (int)ReadVarint(packed, ref at);
            days.Add(new SchoolDay(DateOnly.FromDayNumber(day), statuses[ReadVarint(packed, ref at)]));
        }
        return days;
    }

    /// <summary>A student's pack of the given days (null when there are none: no row is kept for no days).</summary>
    public static AttendancePack? Pack(string studentId, IReadOnlyCollection<KeyValuePair<DateOnly, string>> days) => days.Count == 0 ? null : new AttendancePack
    {
        StudentId = studentId,
        FirstDate = days.Min(d => d.Key),
        DayCount = days.Count,
        Days = Encode(days),
    };

    /// <summary>
    /// The students' stored school days, for a unit of work that changes them: from their packs (one row a student, read
    /// tracked: <see cref="Repack"/> rewrites them), and from the day rows only for a student without a pack (day rows
    /// written around the consumer, as tests and seeds do). A batch of 500 students late in a year is some 50,000 day rows
    /// and 500 packs: reading the rows was most of the attendance consumer's time in a five-minute stream (issue #24).
    /// </summary>
    public static async Task<(Dictionary<string, Dictionary<DateOnly, string>> Days, Dictionary<string, AttendancePack> Packs)> LoadDaysAsync(
        this EarlyWarningDbContext db, IReadOnlyCollection<string> studentIds, CancellationToken ct)
    {
        var ids = studentIds.ToArray();
        var packs = await db.AttendancePacks.Where(p => EF.Parameter(ids).Contains(p.StudentId)).ToDictionaryAsync(p => p.StudentId, StringComparer.Ordinal, ct);
        var days = new Dictionary<string, Dictionary<DateOnly, string>>(StringComparer.Ordinal);
        foreach (var (studentId, pack) in packs)
        {
            var packed = Decode(pack.Days);
            var studentDays = days[studentId] = new Dictionary<DateOnly, string>(packed.Count);
            foreach (var day in packed)
            {
                studentDays[day.Date] = day.Status;
            }
        }
        var unpacked = ids.Where(id => !packs.ContainsKey(id)).ToArray();
        if (unpacked.Length > 0)
        {
            await foreach (var day in db.AttendanceDays.AsNoTracking().Where(d => EF.Parameter(unpacked).Contains(d.StudentId))
                .Select(d => new { d.StudentId, d.Date, d.Status }).AsAsyncEnumerable().WithCancellation(ct))
            {
                if (!days.TryGetValue(day.StudentId, out var studentDays))
                {
                    days[day.StudentId] = studentDays = [];
                }
                studentDays[day.Date] = day.Status;
            }
        }
        return (days, packs);
    }

    /// <summary>
    /// Lays the students' days as they now stand (stored and this unit of work's) into their packs, tracked: the caller saves them
    /// with the day rows, in one transaction. <paramref name="stored"/>: the students' packs as the caller read them, tracked
    /// (<see cref="LoadDaysAsync"/>), so they are not read again.
    /// </summary>
    public static void Repack(this EarlyWarningDbContext db, IReadOnlyDictionary<string, Dictionary<DateOnly, string>> days,
        IReadOnlyDictionary<string, AttendancePack> stored)
    {
        foreach (var (studentId, studentDays) in days)
        {
            var pack = Pack(studentId, studentDays);
            if (!stored.TryGetValue(studentId, out var row))
            {
                if (pack is not null)
                {
                    db.AttendancePacks.Add(pack);
                }
            }
            else if (pack is null)
            {
                db.AttendancePacks.Remove(row);
            }
            else
            {
                (row.FirstDate, row.DayCount, row.Days) = (pack.FirstDate, pack.DayCount, pack.Days);
            }
        }
    }

    /// <summary>
    /// The upgrade step for a database made before the packs existed (the table is added empty at start): packs every student's
    /// stored day rows, students a page at a time, in one transaction (a start that dies half-way leaves none, and the next start
    /// does it again). Runs only while no pack exists and some day does; returns the students packed.
    /// </summary>
    public static async Task<int> BackfillAsync(EarlyWarningDbContext db, CancellationToken ct, int page = 2000)
    {
        if (await db.AttendancePacks.AnyAsync(ct) || !await db.AttendanceDays.AnyAsync(ct))
        {
            return 0;
        }
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var packed = 0;
        string? after = null;
        while (true)
        {
            // GROUP BY on the key's first column, ordered and limited: a walk of the key's index that stops at the page, where a
            // DISTINCT subquery would be materialised whole for every page (quadratic in the students).
            var days = db.AttendanceDays.AsNoTracking();
            var ids = await (after is null ? days : days.Where(d => string.Compare(d.StudentId, after) > 0))
                .GroupBy(d => d.StudentId).Select(g => g.Key).OrderBy(s => s).Take(page).ToListAsync(ct);
            if (ids.Count == 0)
            {
                break;
            }
            after = ids[^1];
            var rows = (await db.AttendanceDays.AsNoTracking().Where(d => EF.Parameter(ids).Contains(d.StudentId)).ToListAsync(ct)).GroupBy(d => d.StudentId);
            var packs = rows.Select(g => Pack(g.Key, g.Select(d => KeyValuePair.Create(d.Date, d.Status)).ToList())!).ToList();
            packed += await db.InsertOrUpdateAsync(packs, ct);
        }
        await transaction.CommitAsync(ct);
        return packed;
    }

    /// <summary>
    /// Retention of attendance: deletes the day rows before the cutoff, then drops the same days from the packs that hold them
    /// (by <see cref="AttendancePack.FirstDate"/>), so the packs still say what the rows say. Returns the day rows deleted.
    /// </summary>
    public static async Task<int> DeleteAttendanceOlderThanAsync(this EarlyWarningDbContext db, DateTimeOffset cutoff, CancellationToken ct)
    {
        var deleted = await db.DeleteOlderThanAsync<AttendanceDay>(d => d.Date, cutoff, ct);
        // The day DeleteOlderThanAsync compares a date column with.
        var first = DateOnly.FromDateTime(cutoff.UtcDateTime);
        while (await db.AttendancePacks.Where(p => p.FirstDate < first).Take(1000).ToListAsync(ct) is { Count: > 0 } packs)
        {
            foreach (var row in packs)
            {
                var kept = Decode(row.Days).Where(d => d.Date >= first).Select(d => KeyValuePair.Create(d.Date, d.Status)).ToList();
                if (Pack(row.StudentId, kept) is { } pack)
                {
                    (row.FirstDate, row.DayCount, row.Days) = (pack.FirstDate, pack.DayCount, pack.Days);
                }
                else
                {
                    db.AttendancePacks.Remove(row);
                }
            }
            try
            {
                await db.SaveChangesAsync(ct);
            }
            catch (DbUpdateConcurrencyException)
            {
                // The consumer rewrote one of these packs meanwhile: read them again (the loop takes them up again).
            }
            db.ChangeTracker.Clear();
        }
        return deleted;
    }

    private static void WriteVarint(ArrayBufferWriter<byte> buffer, uint value)
    {
        var span = buffer.GetSpan(5);
        var n = 0;
        while (value >= 0x80)
        {
            span[n++] = (byte)(value | 0x80);
            value >>= 7;
        }
        span[n++] = (byte)value;
        buffer.Advance(n);
    }

    private static uint ReadVarint(byte[] packed, ref int at)
    {
        uint value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = packed[at++];
            value |= (uint)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }
}
