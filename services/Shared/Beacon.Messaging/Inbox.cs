using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Messaging;

/// <summary>
/// A message a consumer has processed, recorded in the same transaction as its effects. Natural keys make a
/// single record idempotent, but not a batch that holds a day and its later correction: re-applied after a
/// crash between commit and acknowledgement, it would move the day back and forth and raise an alert twice.
/// </summary>
public sealed class InboxMessage
{
    public Guid MessageId { get; set; }
    public DateTimeOffset ProcessedAt { get; set; }
}

public static class InboxExtensions
{
    public static ModelBuilder AddInbox(this ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<InboxMessage>(e =>
        {
            e.ToTable("inbox");
            e.HasKey(m => m.MessageId);
            e.HasIndex(m => m.ProcessedAt);
        });
        return modelBuilder;
    }

    /// <summary>
    /// True if this message was processed before. Otherwise records it as processed; the record commits with the
    /// caller's next SaveChanges, together with the message's effects.
    /// </summary>
    public static async Task<bool> ProcessedBeforeAsync(this DbContext db, ConsumeContext context, DateTimeOffset now)
    {
        if (context.MessageId is not { } id)
        {
            return false;
        }
        if (await db.Set<InboxMessage>().AnyAsync(m => m.MessageId == id, context.CancellationToken))
        {
            return true;
        }
        db.Set<InboxMessage>().Add(new InboxMessage { MessageId = id, ProcessedAt = now });
        return false;
    }

    /// <summary>Applies a message once: skipped if processed before, otherwise applied and saved with its inbox record.</summary>
    public static async Task ConsumeOnceAsync(this DbContext db, ConsumeContext context, DateTimeOffset now, Func<Task> apply)
    {
        if (await db.ProcessedBeforeAsync(context, now))
        {
            return;
        }
        await apply();
        await db.SaveChangesAsync(context.CancellationToken);
    }
}
