using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Notifications.Storage;

/// <summary>One entry in a staff member's in-app feed. (StaffId, SourceEventId) is unique: one delivery per recipient per event.</summary>
public sealed class FeedEntry
{
    public Guid EntryId { get; set; }
    public required string StaffId { get; set; }
    public required Guid SourceEventId { get; set; }
    public required string Kind { get; set; }
    public required string StudentId { get; set; }
    public required string Title { get; set; }
    public required string Body { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public bool Read { get; set; }
}

public sealed class NotificationsDbContext(DbContextOptions<NotificationsDbContext> options) : DbContext(options)
{
    public DbSet<FeedEntry> Feed => Set<FeedEntry>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<FeedEntry>(e =>
        {
            e.HasKey(f => f.EntryId);
            e.HasIndex(f => new { f.StaffId, f.SourceEventId }).IsUnique();
        });
        modelBuilder.AddOutbox();
    }
}
