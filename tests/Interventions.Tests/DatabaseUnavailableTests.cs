using System.Net;
using System.Net.Http.Json;
using Beacon.Interventions.Storage;
using Beacon.Testing;
using Npgsql;

namespace Beacon.Interventions.Tests;

/// <summary>
/// On PostgreSQL, a database that cut the service's connections and refuses new ones (what a restart or a failover
/// does) is a 503 with Retry-After, not a 500, and the same request once it is back goes in. Its own database,
/// dropped afterwards; skipped unless BEACON_TEST_POSTGRES is set (.ci/run sets it).
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
        _database = $"beacon_test_{Guid.NewGuid():N}";
        _service = new ServiceFactory<Program> { ConnectionString = new NpgsqlConnectionStringBuilder(server) { Database = _database }.ConnectionString };
        await _service.WaitUntilReadyAsync();
    }

    public async Task DisposeAsync()
    {
        if (_service is null)
        {
            return;
        }
        await AdminAsync($"ALTER DATABASE \"{_database}\" ALLOW_CONNECTIONS true");
        await _service.WithDbAsync<InterventionsDbContext, bool>(db => db.Database.EnsureDeletedAsync());
        await _service.DisposeAsync();
    }

    private static async Task AdminAsync(string sql)
    {
        await using var admin = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(TestEnvironment.Postgres) { Database = "postgres", Pooling = false }.ConnectionString);
        await admin.OpenAsync();
        await using var command = new NpgsqlCommand(sql, admin);
        await command.ExecuteNonQueryAsync();
    }

    [SkippableFact]
    public async Task An_unavailable_database_is_a_503_with_retry_after_and_the_case_opens_when_sent_again()
    {
        Skip.If(_service is null, "BEACON_TEST_POSTGRES is not set: this test needs a PostgreSQL server (.ci/run starts one).");
        using var client = _service.CreateClient();
        var open = new { studentId = $"stu-{Guid.NewGuid():N}", schoolId = "down-school", reason = "Teacher concern." };
        using (var first = await client.PostAsJsonAsync("/api/interventions/v1/cases", open with { studentId = $"stu-{Guid.NewGuid():N}" }))
        {
            Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        }

        await AdminAsync($"ALTER DATABASE \"{_database}\" ALLOW_CONNECTIONS false");
        await AdminAsync($"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{_database}'");
        using (var down = await client.PostAsJsonAsync("/api/interventions/v1/cases", open))
        {
            var text = await down.Content.ReadAsStringAsync();
            Assert.True(down.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)down.StatusCode} {text}");
            Assert.Equal("5", down.Headers.GetValues("Retry-After").Single());
            Assert.Contains("busy or unavailable", text, StringComparison.Ordinal);
        }

        // Back: as a client told to retry would, send it again; connections the pool still holds from before the cut fail
        // once each (503 again), then the case opens.
        await AdminAsync($"ALTER DATABASE \"{_database}\" ALLOW_CONNECTIONS true");
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
