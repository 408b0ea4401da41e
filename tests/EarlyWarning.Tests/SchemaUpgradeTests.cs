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
                await db.SaveChangesAsync();
                // As an earlier version left it: no inbox table, and day rows without attendance packs.
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
    }
}
