using System.Net;
using System.Net.Http.Json;
using Beacon.Testing;

namespace Beacon.Interventions.Tests;

/// <summary>
/// The problem handlers every service registers (AddDefaultProblemHandlers), seen outside Ingestion: a
/// database held by another writer longer than the wait (here 1 s) answers 503 with Retry-After, not a
/// 500, and the same request once it is free goes in.
/// </summary>
public sealed class DatabaseBusyTests(LockableSqliteService<Program> database) : IClassFixture<LockableSqliteService<Program>>
{
    [Fact]
    public async Task A_locked_database_is_a_503_with_retry_after_and_the_case_opens_when_sent_again()
    {
        using var client = database.Service.CreateClient();
        var open = new { studentId = $"stu-{Guid.NewGuid():N}", schoolId = "busy-school", reason = "Teacher concern." };

        await using (await database.HoldAsync())
        {
            using var busy = await client.PostAsJsonAsync("/api/interventions/v1/cases", open);
            var text = await busy.Content.ReadAsStringAsync();
            Assert.True(busy.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)busy.StatusCode} {text}");
            Assert.Equal("5", busy.Headers.GetValues("Retry-After").Single());
            Assert.Contains("database is busy", text, StringComparison.Ordinal);
        }

        using var again = await client.PostAsJsonAsync("/api/interventions/v1/cases", open);
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
    }
}
