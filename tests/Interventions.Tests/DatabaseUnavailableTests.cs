using System.Net;
using System.Net.Http.Json;
using Beacon.Interventions.Storage;
using Beacon.Testing;

namespace Beacon.Interventions.Tests;

/// <summary>
/// On PostgreSQL, a database that cut the service's connections and refuses new ones (what a restart or a failover
/// does) is a 503 with Retry-After, not a 500, and the same request once it is back goes in. Its own database,
/// dropped afterwards; skipped unless BEACON_TEST_POSTGRES is set (./beacon test sets it).
/// </summary>
public sealed class DatabaseUnavailableTests : IAsyncLifetime
{
    private ServiceFactory<Program>? _service;
    private string? _database;

    public async Task InitializeAsync()
    {
        if (TestEnvironment.Postgres is not { } server)
        {
            return;
        }
        var connectionString = TestPostgres.NewDatabase(server);
        _database = TestPostgres.DatabaseOf(connectionString);
        _service = new ServiceFactory<Program> { ConnectionString = connectionString };
        await _service.WaitUntilReadyAsync();
    }

    public async Task DisposeAsync()
    {
        if (_service is null)
        {
            return;
        }
        await TestPostgres.AllowConnectionsAsync(TestEnvironment.Postgres!, _database!);
        await _service.WithDbAsync<InterventionsDbContext, bool>(db => db.Database.EnsureDeletedAsync());
        await _service.DisposeAsync();
    }

    [SkippableFact]
    public async Task An_unavailable_database_is_a_503_with_retry_after_and_the_case_opens_when_sent_again()
    {
        Skip.If(_service is null, "BEACON_TEST_POSTGRES is not set: this test needs a PostgreSQL server (./beacon test starts one).");
        using var client = _service.CreateClient();
        var open = new { studentId = $"stu-{Guid.NewGuid():N}", schoolId = "down-school", reason = "Teacher concern." };
        using (var first = await client.PostAsJsonAsync("/api/interventions/v1/cases", open with { studentId = $"stu-{Guid.NewGuid():N}" }))
        {
            Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        }

        await TestPostgres.RefuseConnectionsAsync(TestEnvironment.Postgres!, _database!);
        using (var down = await client.PostAsJsonAsync("/api/interventions/v1/cases", open))
        {
            var text = await down.Content.ReadAsStringAsync();
            Assert.True(down.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)down.StatusCode} {text}");
            Assert.Equal("5", down.Headers.GetValues("Retry-After").Single());
            Assert.Contains("busy or unavailable", text, StringComparison.Ordinal);
        }

        // Back: as a client told to retry would, send it again; connections the pool still holds from before the cut fail
        // once each (503 again), then the case opens.
        await TestPostgres.AllowConnectionsAsync(TestEnvironment.Postgres!, _database!);
        var answers = new List<HttpStatusCode>();
        for (var attempt = 0; attempt < 20 && answers.LastOrDefault() != HttpStatusCode.Created; attempt++)
        {
            using var again = await client.PostAsJsonAsync("/api/interventions/v1/cases", open);
            answers.Add(again.StatusCode);
        }
        Assert.Equal(HttpStatusCode.Created, answers[^1]);
        Assert.All(answers[..^1], a => Assert.Equal(HttpStatusCode.ServiceUnavailable, a));
    }
}
