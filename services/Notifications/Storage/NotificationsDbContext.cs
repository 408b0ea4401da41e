using Beacon.Governance;
using Beacon.Messaging;
using Beacon.Notifications.Domain;
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

/// <summary>
/// A counselor's worklist entry: one per (staff member, student), the student's current reasons across every alert
/// kind (<see cref="Worklist"/>), updated in place. Name, grade and school are copied from the roster when the
/// student first appears, so the list reads without a call per row.
/// </summary>
public sealed class WorklistEntry
{
    public required string StaffId { get; set; }
    public required string StudentId { get; set; }
    public required string SchoolId { get; set; }
    public string StudentName { get; set; } = "";
    public string GradeLevel { get; set; } = "";

    /// <summary>JSON list of <see cref="WorklistReason"/>, highest level first.</summary>
    public string ReasonsJson { get; set; } = "[]";

    /// <summary>The highest reason level (3 severe, 2 flagged) and the number of kinds of reason: the ranking.</summary>
    public int Level { get; set; }
    public int ReasonCount { get; set; }
    public bool Read { get; set; }
    public DateTimeOffset FirstRaisedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>When something last materially changed (a new kind of reason, a level going up): what "new" means.</summary>
    public DateTimeOffset ChangedAt { get; set; }
}

/// <summary>Notifications' projection of the staff roster (from StaffAssigned): who is where, in which role, at which address.</summary>
public sealed class StaffMember
{
    public required string StaffId { get; set; }
    public required string SchoolId { get; set; }
    public required string Role { get; set; }
    public required string Name { get; set; }
    public string Email { get; set; } = "";

    /// <summary>Mobile number in E.164 form, for SMS: from the roster (StaffAssigned, the roster's gRPC answer) or the directory setting.</summary>
    public string? Phone { get; set; }

    /// <summary>Null: the roster (StaffAssigned). Otherwise <see cref="StaffSources"/>: the directory setting, or the person's own sign-in.</summary>
    public string? Source { get; set; }
}

/// <summary>A staff member's delivery settings. Missing row = defaults (<see cref="PreferenceDefaults"/>).</summary>
public sealed class UserPreferences
{
    public required string StaffId { get; set; }

    /// <summary>Per event kind: "kind=channel+channel[;digest]" entries separated by '|', e.g. "risk-alert=in-app+email|case-assigned=in-app;digest".</summary>
    public string Rules { get; set; } = "";
    public TimeOnly? QuietFrom { get; set; }
    public TimeOnly? QuietUntil { get; set; }

    /// <summary>IANA or Windows time-zone id for quiet hours and the digest hour.</summary>
    public string TimeZone { get; set; } = "UTC";
    public TimeOnly DigestAt { get; set; } = new(7, 0);
    public string? WebhookUrl { get; set; }
    public string? WebhookSecret { get; set; }
}

/// <summary>
/// One message to one recipient on one outbound channel (email, webhook) for one event. Unique per
/// (StaffId, SourceEventId, Channel), so a redelivered event cannot send twice. Never deleted: it ends
/// sent or dead (the dead-letter list ops re-drive from).
/// </summary>
public sealed class Delivery
{
    public Guid DeliveryId { get; set; }
    public required string StaffId { get; set; }
    public required Guid SourceEventId { get; set; }
    public required string Channel { get; set; }
    public required string Kind { get; set; }
    public required string Title { get; set; }
    public required string Body { get; set; }

    /// <summary>The notice in a few words that name no student (initials at most), for SMS (<see cref="SmsText"/>); null for older rows.</summary>
    public string? ShortText { get; set; }
    public string StudentId { get; set; } = "";
    public string Status { get; set; } = DeliveryStatuses.Pending;
    public bool Digest { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset NotBefore { get; set; }
    public int Attempts { get; set; }
    public string? LastError { get; set; }
    public DateTimeOffset? SentAt { get; set; }
}

public sealed class NotificationsDbContext(DbContextOptions<NotificationsDbContext> options) : DbContext(options)
{
    public DbSet<FeedEntry> Feed => Set<FeedEntry>();
    public DbSet<StaffMember> Staff => Set<StaffMember>();
    public DbSet<UserPreferences> Preferences => Set<UserPreferences>();
    public DbSet<Delivery> Deliveries => Set<Delivery>();
    public DbSet<WorklistEntry> Worklist => Set<WorklistEntry>();
    public DbSet<Apis.StreamTicket> StreamTickets => Set<Apis.StreamTicket>();
    public DbSet<OpsAlarm> OpsAlarms => Set<OpsAlarm>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<FeedEntry>(e =>
        {
            e.HasKey(f => f.EntryId);
            e.HasIndex(f => new { f.StaffId, f.SourceEventId }).IsUnique();
        });
        modelBuilder.Entity<WorklistEntry>(e =>
        {
            e.HasKey(w => new { w.StaffId, w.StudentId });
            e.HasIndex(w => w.StudentId);
        });
        modelBuilder.Entity<StaffMember>(e =>
        {
            e.HasKey(s => s.StaffId);
            e.HasIndex(s => new { s.SchoolId, s.Role });
        });
        modelBuilder.Entity<UserPreferences>().HasKey(p => p.StaffId);
        modelBuilder.Entity<Delivery>(e =>
        {
            e.HasKey(d => d.DeliveryId);
            e.HasIndex(d => new { d.StaffId, d.SourceEventId, d.Channel }).IsUnique();
            e.HasIndex(d => new { d.Status, d.NotBefore });
        });
        modelBuilder.Entity<Apis.StreamTicket>().HasKey(t => t.Hash);
        modelBuilder.Entity<OpsAlarm>(e =>
        {
            e.HasKey(a => a.AlarmId);
            e.HasIndex(a => a.Kind);
        });
        modelBuilder.AddErasedStudents();
        modelBuilder.AddOutbox();
    }
}
