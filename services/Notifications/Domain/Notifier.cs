using Beacon.Contracts.Events;
using Beacon.Messaging;
using Beacon.Notifications.Storage;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Notifications.Domain;

/// <summary>
/// One event to tell someone about. Short: the same in a few words for SMS, naming no student (initials at most: see
/// <see cref="SmsText"/>); without one an SMS says only the kind of notice.
/// </summary>
public sealed record Notice(Guid SourceEventId, string Kind, string StudentId, string Title, string Body, string? Short = null);

/// <summary>
/// Fans one event out to its recipients following each one's preferences: the in-app feed now, email,
/// webhook and SMS as pending deliveries for the dispatcher. Everything is keyed (recipient, event,
/// channel), so handling the same event twice adds nothing. Saves nothing itself: the caller's
/// SaveChanges commits entries, deliveries and events together.
/// </summary>
public sealed class Notifier(NotificationsDbContext db, FeedBroadcaster broadcaster, TimeProvider clock, ILogger<Notifier> logger)
{
    public async Task NotifyAsync(IReadOnlyCollection<string> recipients, Notice notice, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        if (recipients.Count == 0)
        {
            await RecordUndeliverableAsync(notice, "No recipient: nobody on the roster in the role this event goes to.", ct);
            return;
        }
        var ids = recipients.Distinct().ToList();
        var prefs = await db.Preferences.AsNoTracking().Where(p => ids.Contains(p.StaffId)).ToDictionaryAsync(p => p.StaffId, ct);
        var inFeed = (await db.Feed.Where(f => f.SourceEventId == notice.SourceEventId && ids.Contains(f.StaffId)).Select(f => f.StaffId).ToListAsync(ct)).ToHashSet();
        var queued = (await db.Deliveries.Where(d => d.SourceEventId == notice.SourceEventId && ids.Contains(d.StaffId))
            .Select(d => new { d.StaffId, d.Channel }).ToListAsync(ct)).Select(d => (d.StaffId, d.Channel)).ToHashSet();

        foreach (var staffId in ids)
        {
            var pref = prefs.GetValueOrDefault(staffId);
            var rule = PreferenceRules.For(pref, notice.Kind);
            foreach (var channel in rule.Channels)
            {
                if (channel == Channels.InApp)
                {
                    if (inFeed.Add(staffId))
                    {
                        var entry = new FeedEntry
                        {
                            EntryId = NewId.NextGuid(),
                            StaffId = staffId,
                            SourceEventId = notice.SourceEventId,
                            Kind = notice.Kind,
                            StudentId = notice.StudentId,
                            Title = notice.Title,
                            Body = notice.Body,
                            CreatedAt = now,
                        };
                        db.Feed.Add(entry);
                        db.Publish(new NotificationDelivered(entry.EntryId, staffId, Channels.InApp, notice.Kind, notice.SourceEventId, now));
                        broadcaster.AfterSave(db, entry);
                    }
                }
                else if (queued.Add((staffId, channel)))
                {
                    db.Deliveries.Add(NewDelivery(staffId, channel, notice, now, PreferenceRules.NotBefore(pref, rule.Digest, now), rule.Digest,
                        DeliveryStatuses.Pending, null));
                }
            }
        }
    }

    /// <summary>Nobody to tell is itself something ops must see: it goes straight to the dead-letter list.</summary>
    public async Task RecordUndeliverableAsync(Notice notice, string reason, CancellationToken ct)
    {
        logger.LogWarning("Undeliverable {Kind} {EventId}: {Reason}", notice.Kind, notice.SourceEventId, reason);
        if (!await db.Deliveries.AnyAsync(d => d.SourceEventId == notice.SourceEventId && d.Channel == Channels.None, ct))
        {
            var now = clock.GetUtcNow();
            db.Deliveries.Add(NewDelivery("(nobody)", Channels.None, notice, now, now, digest: false, DeliveryStatuses.Dead, reason));
        }
    }

    private static Delivery NewDelivery(string staffId, string channel, Notice notice, DateTimeOffset now, DateTimeOffset notBefore, bool digest, string status, string? error) => new()
    {
        DeliveryId = NewId.NextGuid(),
        StaffId = staffId,
        SourceEventId = notice.SourceEventId,
        Channel = channel,
        Kind = notice.Kind,
        Title = notice.Title,
        Body = notice.Body,
        ShortText = notice.Short,
        StudentId = notice.StudentId,
        CreatedAt = now,
        NotBefore = notBefore,
        Digest = digest,
        Status = status,
        LastError = error,
    };

    /// <summary>A stable id for an event that carries none of its own, so a re-published copy maps to the same key.</summary>
    public static Guid StableId(params string[] parts) =>
        new(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(string.Join('\u001f', parts))));
}
