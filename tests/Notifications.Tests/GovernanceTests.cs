using Beacon.Contracts.Events;
using Beacon.Messaging;
using Beacon.Notifications.Domain;
using Beacon.Notifications.Storage;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Notifications.Tests;

/// <summary>Erasure and retention in Notifications against the real broker (SQLite; <see cref="PostgresGovernanceTests"/> runs them on PostgreSQL).</summary>
public class GovernanceTests : GovernanceTestBase<Program, NotificationsDbContext>
{
    protected override string ServiceName => "notifications";

    protected override Dictionary<string, string?> Settings => new() { ["Retention:FeedEntries"] = "P180D" };

    protected override Task SeedAsync(string student, DateTimeOffset at) => Db(db =>
    {
        var source = Guid.NewGuid();
        db.Feed.AddRange(
            new FeedEntry { EntryId = Guid.NewGuid(), StaffId = "c1", SourceEventId = source, Kind = "risk-alert", StudentId = student, Title = $"{student} at risk", Body = "b", CreatedAt = at },
            new FeedEntry { EntryId = Guid.NewGuid(), StaffId = "c2", SourceEventId = source, Kind = "risk-alert", StudentId = student, Title = $"{student} at risk", Body = "b", CreatedAt = at });
        db.Deliveries.Add(new Delivery
        {
            DeliveryId = Guid.NewGuid(),
            StaffId = "c1",
            SourceEventId = source,
            Channel = "email",
            Kind = "risk-alert",
            Title = $"{student} at risk",
            Body = "b",
            StudentId = student,
            Status = DeliveryStatuses.Sent,
            CreatedAt = at,
            NotBefore = at,
            SentAt = at,
        });
        db.Worklist.Add(new WorklistEntry { StaffId = "c1", StudentId = student, SchoolId = "gov", StudentName = "A Student", FirstRaisedAt = at, UpdatedAt = at, ChangedAt = at, Level = 2, ReasonCount = 1 });
        db.Publish(new NotificationDelivered(Guid.NewGuid(), "c1", "email", "risk-alert", null, at));
        return db.SaveChangesAsync();
    });

    protected override async Task<Dictionary<string, int>> RowsOfAsync(NotificationsDbContext db, string student) => new()
    {
        ["Feed"] = await db.Feed.CountAsync(f => f.StudentId == student),
        ["Deliveries"] = await db.Deliveries.CountAsync(d => d.StudentId == student),
        ["Worklist"] = await db.Worklist.CountAsync(w => w.StudentId == student),
    };

    [SkippableFact]
    public async Task Erasure_removes_the_students_feed_entries_and_emails_keeps_the_other_and_a_redelivery_changes_nothing()
    {
        SkipUnlessRunning();
        // NotificationDelivered carries no student id, so no outbox row is about A.
        var a = await EraseOneOfTwoAsync(new() { ["Feed"] = 2, ["Deliveries"] = 1, ["Worklist"] = 1, ["outbox"] = 0 });

        // A late case assignment about A reaches no feed; the same event about another student does.
        await AssertLateEventIgnoredAsync(a, s => new InterventionAssigned(Guid.NewGuid(), s, "gov", "gov-owner", [], "coord", DateTimeOffset.UtcNow),
            (db, s) => db.Feed.CountAsync(f => f.StudentId == s));
    }

    [SkippableFact]
    public async Task Retention_purges_feed_entries_older_than_the_period_and_unset_kinds_keep_everything()
    {
        SkipUnlessRunning();
        var (old, young) = (NewStudent("ret-o"), NewStudent("ret-y"));
        await SeedAsync(old, DateTimeOffset.UtcNow.AddDays(-200));
        await SeedAsync(young, DateTimeOffset.UtcNow.AddDays(-20));

        var kinds = await RunRetentionAsync("/api/notifications/v1");
        Assert.True(kinds["FeedEntries"].GetProperty("deleted").GetInt32() >= 2);

        Assert.Equal(new Dictionary<string, int> { ["Feed"] = 0, ["Deliveries"] = 1, ["Worklist"] = 1 }, await RowsOfAsync(old));   // Deliveries, WorklistEntries unset: kept
        Assert.Equal(new Dictionary<string, int> { ["Feed"] = 2, ["Deliveries"] = 1, ["Worklist"] = 1 }, await RowsOfAsync(young));
    }
}

/// <summary>The same erasure and retention on PostgreSQL (skipped unless BEACON_TEST_POSTGRES is set).</summary>
public sealed class PostgresGovernanceTests : GovernanceTests
{
    protected override bool OnPostgres => true;
}
