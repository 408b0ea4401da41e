using Beacon.Mastery.Storage;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Beacon.Mastery.Tests;

/// <summary>
/// A database made before mastery rows had a version (the column the concurrent-writer check reads) gets the
/// column when the service starts, with 0 in the rows it already holds, and keeps them. On a SQLite file and on
/// PostgreSQL (its own database; skipped unless BEACON_TEST_POSTGRES is set).
/// </summary>
public class SchemaUpgradeTests
{
    protected virtual bool OnPostgres => false;

    [SkippableFact]
    public async Task A_database_without_a_newer_column_gets_it_at_start_and_keeps_its_rows()
    {
        string connectionString;
        if (OnPostgres)
        {
            Skip.If(TestEnvironment.Postgres is null, "BEACON_TEST_POSTGRES is not set: the PostgreSQL run needs a server (./beacon test starts one).");
            connectionString = TestPostgres.NewDatabase(TestEnvironment.Postgres!);
        }
        else
        {
            connectionString = $"Data Source={Path.Combine(TestEnvironment.NewTempDirectory("mastery-upgrade"), "mastery.db")}";
        }

        await using (var first = new ServiceFactory<Program> { ConnectionString = connectionString })
        {
            await first.WaitUntilReadyAsync();
            await first.WithDbAsync<MasteryDbContext, int>(async db =>
            {
                db.Mastery.Add(new StudentSkillMastery { StudentId = "upgrade-s1", SkillId = "fractions", ProbabilityMastered = 0.4, Attempts = 2 });
                await db.SaveChangesAsync();
                // As an earlier version left it: no version column.
                return await db.Database.ExecuteSqlRawAsync("ALTER TABLE \"Mastery\" DROP COLUMN \"Version\"");
            });
        }

        await using var second = new ServiceFactory<Program> { ConnectionString = connectionString };
        try
        {
            await second.WaitUntilReadyAsync();
            var kept = await second.WithDbAsync<MasteryDbContext, StudentSkillMastery>(db => db.Mastery.AsNoTracking().SingleAsync(m => m.StudentId == "upgrade-s1"));
            Assert.Equal((0.4, 2, 0L), (kept.ProbabilityMastered, kept.Attempts, kept.Version));
            // The version check works on the upgraded row.
            var saved = await second.WithDbAsync<MasteryDbContext, long>(async db =>
            {
                var row = await db.Mastery.SingleAsync(m => m.StudentId == "upgrade-s1");
                row.Attempts++;
                row.Version++;
                await db.SaveChangesAsync();
                return (await db.Mastery.AsNoTracking().SingleAsync(m => m.StudentId == "upgrade-s1")).Version;
            });
            Assert.Equal(1L, saved);
        }
        finally
        {
            if (OnPostgres)
            {
                await second.WithDbAsync<MasteryDbContext, bool>(db => db.Database.EnsureDeletedAsync());
                NpgsqlConnection.ClearAllPools();
            }
        }
    }
}

public sealed class PostgresSchemaUpgradeTests : SchemaUpgradeTests
{
    protected override bool OnPostgres => true;
}
