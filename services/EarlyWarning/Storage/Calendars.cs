using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.RiskModels.Calendars;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.EarlyWarning.Storage;

/// <summary>A school year of a calendar as Ingestion last published it (Scope "" = the district's).</summary>
public sealed class CalendarYearRow
{
    public string Scope { get; set; } = "";
    public required string SchoolYear { get; set; }
    public DateOnly? FirstDay { get; set; }
    public DateOnly? LastDay { get; set; }
    /// <summary>[{from, to}] spans of non-instructional days.</summary>
    public string NonInstructionalJson { get; set; } = "[]";
    public DateTimeOffset OccurredAt { get; set; }
}

/// <summary>
/// The latest attendance date any record carried for a school: how far the feed has reported. An absences-only feed says
/// nothing on the days a student was present, so their school days are counted up to here, not to their last absence.
/// </summary>
public sealed class SchoolAttendanceThrough
{
    public required string SchoolId { get; set; }
    public DateOnly Through { get; set; }

    /// <summary>Whether the feed has sent a present day (else it may send only absences, or absences and tardies): see <see cref="FeedReport"/>.</summary>
    public bool SendsPresentDays { get; set; }

    public FeedReport Report => new(Through, SendsPresentDays);

    /// <summary>A record of the school has arrived: the feed has reported through its date, and present days if it is one.</summary>
    public void Saw(DateOnly date, string status)
    {
        Through = Through < date ? date : Through;
        SendsPresentDays |= status == "present";
    }
}

/// <summary>Keeps the calendar projection; an older calendar than the one held is ignored, so redelivery and reordering change nothing.</summary>
public sealed class SchoolCalendarRecordedConsumer(EarlyWarningDbContext db) : IConsumer<SchoolCalendarRecorded>
{
    public async Task Consume(ConsumeContext<SchoolCalendarRecorded> context)
    {
        var m = context.Message;
        var scope = m.SchoolId ?? "";
        var row = await db.CalendarYears.FindAsync([scope, m.SchoolYear], context.CancellationToken);
        if (row is not null && row.OccurredAt > m.OccurredAt)
        {
            return;
        }
        row ??= db.CalendarYears.Add(new CalendarYearRow { Scope = scope, SchoolYear = m.SchoolYear }).Entity;
        row.FirstDay = m.FirstDay;
        row.LastDay = m.LastDay;
        row.NonInstructionalJson = JsonSerializer.Serialize(m.NonInstructional.Select(d => new Span(d.From, d.To)));
        row.OccurredAt = m.OccurredAt;
        await db.SaveChangesAsync(context.CancellationToken);
    }

    internal sealed record Span(DateOnly From, DateOnly To);
}

public static class CalendarStore
{
    /// <summary>How far each school's feed has reported (its records as they stand now).</summary>
    public static async Task<Dictionary<string, FeedReport>> FeedReportsAsync(this EarlyWarningDbContext db, IReadOnlyCollection<string> schools, CancellationToken ct) =>
        (await db.AttendanceThrough.AsNoTracking().Where(t => schools.Contains(t.SchoolId)).ToListAsync(ct)).ToDictionary(t => t.SchoolId, t => t.Report);

    /// <summary>Every calendar held (a row per school year and school that has its own: small), composed per school.</summary>
    public static async Task<SchoolCalendars> CalendarsAsync(this EarlyWarningDbContext db, CancellationToken ct)
    {
        var rows = await db.CalendarYears.AsNoTracking().ToListAsync(ct);
        return rows.Count == 0
            ? SchoolCalendars.None
            : new SchoolCalendars([.. rows.Select(r => new CalendarYearEntry(r.Scope.Length == 0 ? null : r.Scope, r.SchoolYear, r.FirstDay, r.LastDay,
                [.. (JsonSerializer.Deserialize<List<SchoolCalendarRecordedConsumer.Span>>(r.NonInstructionalJson) ?? []).Select(s => (s.From, s.To))]))]);
    }
}
