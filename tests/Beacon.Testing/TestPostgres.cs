using Npgsql;
using Xunit;

namespace Beacon.Testing;

/// <summary>
/// The tests' PostgreSQL needs: a database of a test's own on the server (<see cref="TestEnvironment.Postgres"/>), and
/// statements run as the server's administrator (from the maintenance database, without pooling).
/// </summary>
public static class TestPostgres
{
    /// <summary>A connection string for a new database of the caller's own (EF creates it when the service starts).</summary>
    public static string NewDatabase(string server) =>
        new NpgsqlConnectionStringBuilder(server) { Database = $"beacon_test_{Guid.NewGuid():N}" }.ConnectionString;

    /// <summary>
    /// For a test run on either database: null for "sqlite" (a factory's fresh SQLite file), a new database for
    /// "postgres", or a skip when no server is set.
    /// </summary>
    public static string? ConnectionStringFor(string provider)
    {
        if (provider == "sqlite")
        {
            return null;
        }
        var server = TestEnvironment.Postgres;
        Skip.If(server is null, "BEACON_TEST_POSTGRES is not set (a PostgreSQL connection string); ./beacon test sets it.");
        return NewDatabase(server);
    }

    /// <summary>The database a connection string names.</summary>
    public static string DatabaseOf(string connectionString) => new NpgsqlConnectionStringBuilder(connectionString).Database!;

    public static async Task ExecuteAsync(string server, params string[] statements)
    {
        await using var admin = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(server) { Database = "postgres", Pooling = false }.ConnectionString);
        await admin.OpenAsync();
        foreach (var sql in statements)
        {
            await using var command = new NpgsqlCommand(sql, admin);
            await command.ExecuteNonQueryAsync();
        }
    }

    /// <summary>What a restart or a failover does to a database's clients: their connections cut, new ones refused until <see cref="AllowConnectionsAsync"/>.</summary>
    public static Task RefuseConnectionsAsync(string server, string database) => ExecuteAsync(server,
        $"ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS false",
        $"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}' AND pid <> pg_backend_pid()");

    public static Task AllowConnectionsAsync(string server, string database) =>
        ExecuteAsync(server, $"ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS true");
}
