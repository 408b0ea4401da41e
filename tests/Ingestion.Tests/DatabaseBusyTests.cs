using System.Net;
using Beacon.Testing;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// A database held by another writer longer than the wait (here 1 s) answers 503 with Retry-After, not a
/// 500; the same batch sent again once it is free is stored, once.
/// </summary>
public sealed class DatabaseBusyTests(LockableSqliteService<Program> database) : IClassFixture<LockableSqliteService<Program>>
{
    [Fact]
    public async Task A_locked_database_is_a_503_with_retry_after_and_the_batch_goes_in_when_sent_again()
    {
        var api = new IngestionApi(database.Service.CreateClient());
        using (var roster = await api.PostAsync("/api/ingestion/v1/roster", IngestionApi.Roster("busy-school", "busy-s1")))
        {
            Assert.Equal(HttpStatusCode.OK, roster.StatusCode);
        }
        var batch = new { records = new[] { new { studentId = "busy-s1", date = "2026-09-01", status = "absent" } } };

        await using (await database.HoldAsync())
        {
            using var busy = await api.PostAsync("/api/ingestion/v1/attendance?batchId=busy-1", batch);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, busy.StatusCode);
            Assert.Equal("5", busy.Headers.GetValues("Retry-After").Single());
            Assert.Contains("Idempotency-Key", await busy.Content.ReadAsStringAsync());
        }

        using var again = await api.PostAsync("/api/ingestion/v1/attendance?batchId=busy-1", batch);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var history = await api.GetJsonAsync("/api/ingestion/v1/students/busy-s1/attendance");
        Assert.Equal(1, history.GetProperty("days").GetArrayLength());
    }
}
