using Beacon.EarlyWarning.Storage;
using Beacon.Messaging;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.EarlyWarning.Tests;

/// <summary>
/// A database made by an earlier version (here: one without the inbox table, as before the inbox existed) gets the
/// tables added since when the service starts, and keeps its data.
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
                // As an earlier version left it: no inbox table.
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
    }
}
