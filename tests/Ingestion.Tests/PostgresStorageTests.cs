using System.Net;
using Beacon.Ingestion.Storage;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// The same service on a real PostgreSQL (chosen by connection string). ./beacon test starts PostgreSQL and
/// sets BEACON_TEST_POSTGRES; elsewhere the test skips, and in CI its absence fails the run.
/// </summary>
public sealed class PostgresStorageTests
{
    [SkippableFact]
    public async Task Roster_and_attendance_round_trip_through_postgres()
    {
        var server = TestEnvironment.Postgres;
        Skip.If(server is null, "BEACON_TEST_POSTGRES is not set (a PostgreSQL connection string); ./beacon test sets it.");

        // A database of our own, dropped afterwards.
        var connectionString = TestPostgres.NewDatabase(server);
        await using var factory = new ServiceFactory<Program> { ConnectionString = connectionString };
        try
        {
            var api = new IngestionApi(factory.CreateClient());
            using (var roster = await api.PostAsync("/api/ingestion/v1/roster", IngestionApi.Roster("pg-school", "pg-s1", "pg-s2")))
            {
                Assert.Equal(HttpStatusCode.OK, roster.StatusCode);
            }
            using (var days = await api.PostAsync("/api/ingestion/v1/attendance", new
            {
                records = new object[]
                {
                    new { studentId = "pg-s1", date = "2026-09-01", status = "absent" },
                    new { studentId = "pg-s1", date = "2026-09-02", status = "tardy" },
                    new { studentId = "pg-s2", date = "2026-09-01", status = "bogus" },
                },
            }))
            {
                Assert.Equal(HttpStatusCode.BadRequest, days.StatusCode);
            }

            var history = await api.GetJsonAsync("/api/ingestion/v1/students/pg-s1/attendance");
            Assert.Equal(["absent", "tardy"], history.GetProperty("days").EnumerateArray().Select(d => d.GetProperty("status").GetString()));
            var counselors = await api.GetJsonAsync("/api/ingestion/v1/schools/pg-school/counselors");
            Assert.Equal("pg-school-c1", counselors.GetProperty("counselors")[0].GetProperty("staffId").GetString());

            var provider = await factory.WithDbAsync<IngestionDbContext, string?>(db => Task.FromResult(db.Database.ProviderName));
            Assert.Equal("Npgsql.EntityFrameworkCore.PostgreSQL", provider);
            Assert.Equal(2, await factory.WithDbAsync<IngestionDbContext, int>(db => db.Attendance.CountAsync()));
        }
        finally
        {
            await factory.WithDbAsync<IngestionDbContext, bool>(db => db.Database.EnsureDeletedAsync());
        }
    }
}
