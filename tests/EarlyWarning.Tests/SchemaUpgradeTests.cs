using Beacon.EarlyWarning.Storage;
using Beacon.Messaging;
using Beacon.RiskModels.Attendance;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.EarlyWarning.Tests;

/// <summary>
/// A database made by an earlier version (here: one without the inbox table, as before the inbox existed, nor the attendance
/// packs) gets the tables added since when the service starts, keeps its data, and has its stored days packed.
/// </summary>
public sealed class SchemaUpgradeTests
{
    [Fact]
    public async Task A_database_without_a_newer_table_gets_it_at_start_and_keeps_its_rows()
    {
        var file = Path.Combine(TestEnvironment.NewTempDirectory("ew-upgrade"), "earlywarning.db");
        var connectionString = $"Data Source={file}";
        var settings = new Dictionary<string, string?> { ["EarlyWarning:Scoring:Enabled"] = "false", ["EarlyWarning:Monitoring:Enabled"] = "false" };

        await using (var first = new ServiceFactory<Program> { ConnectionString = connectionString, Settings = new(settings) })
        {
            await first.WaitUntilReadyAsync();
            await first.WithDbAsync<EarlyWarningDbContext, int>(async db =>
            {
                db.AttendanceDays.Add(new AttendanceDay { StudentId = "upgrade-s1", Date = new DateOnly(2026, 9, 1), Status = "absent" });
                db.Alerts.Add(Alert("upgrade-s1", "chronic-absence"));
                await db.SaveChangesAsync();
                // As an earlier version left it: no inbox table, day rows without attendance packs, alerts without what raised them.
                await db.Database.ExecuteSqlRawAsync("ALTER TABLE \"Alerts\" DROP COLUMN \"RaisedBy\"");
                await db.Database.ExecuteSqlRawAsync("ALTER TABLE \"Alerts\" DROP COLUMN \"SignalSentAt\"");
                await db.Database.ExecuteSqlRawAsync("DROP TABLE \"AttendancePacks\"");
                return await db.Database.ExecuteSqlRawAsync("DROP TABLE inbox");
            });
        }

        await using var second = new ServiceFactory<Program> { ConnectionString = connectionString, Settings = new(settings) };
        await second.WaitUntilReadyAsync();
        await second.WithDbAsync<EarlyWarningDbContext, int>(async db =>
        {
            db.Set<InboxMessage>().Add(new InboxMessage { MessageId = Guid.NewGuid(), ProcessedAt = DateTimeOffset.UtcNow });
            return await db.SaveChangesAsync();
        });
        Assert.Equal(1, await second.WithDbAsync<EarlyWarningDbContext, int>(db => db.Set<InboxMessage>().CountAsync()));
        Assert.Equal(1, await second.WithDbAsync<EarlyWarningDbContext, int>(db => db.AttendanceDays.CountAsync(d => d.StudentId == "upgrade-s1")));
        // The start's upgrade step packed the stored days: the re-score reads them from the pack.
        var pack = await second.WithDbAsync<EarlyWarningDbContext, AttendancePack?>(db => db.AttendancePacks.SingleOrDefaultAsync(p => p.StudentId == "upgrade-s1"));
        Assert.Equal([new SchoolDay(new DateOnly(2026, 9, 1), "absent")], AttendancePacking.Decode(pack!.Days));
        // The alert columns added since: the old alert kept (raised by nothing recorded), a new one stores them.
        var sent = DateTimeOffset.UtcNow.AddSeconds(-2);
        await second.WithDbAsync<EarlyWarningDbContext, int>(db =>
        {
            var alert = Alert("upgrade-s1", "behavior");
            alert.RaisedBy = "BehaviorIncidentRecorded";
            alert.SignalSentAt = sent;
            db.Alerts.Add(alert);
            return db.SaveChangesAsync();
        });
        var alerts = await second.WithDbAsync<EarlyWarningDbContext, List<RiskAlert>>(db => db.Alerts.AsNoTracking().OrderBy(a => a.Kind).ToListAsync());
        Assert.Equal([("behavior", "BehaviorIncidentRecorded", true), ("chronic-absence", (string?)null, false)],
            alerts.Select(a => (a.Kind, a.RaisedBy, a.SignalSentAt is not null)).ToArray());
    }

    private static RiskAlert Alert(string student, string kind) => new()
    {
        AlertId = Guid.NewGuid(),
        StudentId = student,
        SchoolId = "upgrade-school",
        Kind = kind,
        Crossing = 1,
        Reason = "r",
        RaisedAt = DateTimeOffset.UtcNow,
    };
}
