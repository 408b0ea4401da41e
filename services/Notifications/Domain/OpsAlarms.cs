using Beacon.Notifications.Storage;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Notifications.Domain;

/// <summary>
/// One alarm for ops (a model drifted, its false-positive rate is above the bound, a retraining job failed, a challenger
/// waits): what the ops page lists, whoever it reached. <see cref="Error"/> is set when nobody could be told, so an alarm
/// without a recipient is on the page as an error instead of only in the dead-letter list. Acknowledged with a note.
/// </summary>
public sealed class OpsAlarm
{
    /// <summary>The event's own id (drift run, alarm, job): a redelivered event is the same alarm.</summary>
    public Guid AlarmId { get; set; }
    public required string Kind { get; set; }
    public required string ModelKind { get; set; }
    public required string Title { get; set; }
    public required string Body { get; set; }

    /// <summary>The chart or page that shows it (a path on the gateway).</summary>
    public required string Link { get; set; }
    public DateTimeOffset RaisedAt { get; set; }

    /// <summary>Staff ids told, comma-separated; empty when nobody was.</summary>
    public string Recipients { get; set; } = "";
    public string? Error { get; set; }
    public string? AcknowledgedBy { get; set; }
    public DateTimeOffset? AcknowledgedAt { get; set; }
    public string? AcknowledgementNote { get; set; }
}

/// <summary>
/// Raises ops alarms: stores the alarm, finds its recipients and fans it out through <see cref="Notifier"/> (feed, live push,
/// e-mail and webhook per each one's preferences). Recipients are the staff with role ops (from the roster, the staff
/// directory or their own sign-in) plus Notifications:OpsStaff; with none, the administrators; with none either, the alarm
/// carries the error and a dead letter records it.
/// </summary>
public sealed class OpsAlarms(NotificationsDbContext db, Notifier notifier, IConfiguration configuration, TimeProvider clock)
{
    public async Task RaiseAsync(Guid alarmId, string kind, string modelKind, string title, string body, string link, CancellationToken ct)
    {
        if (await db.OpsAlarms.AnyAsync(a => a.AlarmId == alarmId, ct))
        {
            return;   // a redelivered event: told already
        }
        var recipients = await RecipientsAsync(ct);
        var alarm = new OpsAlarm
        {
            AlarmId = alarmId,
            Kind = kind,
            ModelKind = modelKind,
            Title = title,
            Body = $"{body} See {link}.",
            Link = link,
            RaisedAt = clock.GetUtcNow(),
            Recipients = string.Join(',', recipients),
        };
        db.OpsAlarms.Add(alarm);
        // No student in an ops alarm: the title is short and safe enough for a text message.
        var notice = new Notice(alarmId, kind, "", title, alarm.Body, title);
        if (recipients.Count == 0)
        {
            alarm.Error = "No recipient: nobody has the role ops or administrator (roster, Notifications:Directory, a sign-in) and Notifications:OpsStaff is empty.";
            await notifier.RecordUndeliverableAsync(notice, alarm.Error, ct);
        }
        else
        {
            await notifier.NotifyAsync(recipients, notice, ct);
        }
        await db.SaveChangesAsync(ct);
    }

    public async Task<IReadOnlyList<string>> RecipientsAsync(CancellationToken ct)
    {
        var configured = configuration.GetSection("Notifications:OpsStaff").Get<string[]>() ?? [];
        var ops = await db.Staff.Where(s => s.Role == Roles.Ops).Select(s => s.StaffId).ToListAsync(ct);
        var recipients = ops.Concat(configured).Distinct().Order(StringComparer.Ordinal).ToList();
        if (recipients.Count > 0)
        {
            return recipients;
        }
        // No ops person: an administrator is told rather than nobody.
        return await db.Staff.Where(s => s.Role == Roles.Administrator).Select(s => s.StaffId).OrderBy(s => s).ToListAsync(ct);
    }
}
