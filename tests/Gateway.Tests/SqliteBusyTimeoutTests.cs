using Beacon.ServiceDefaults;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Gateway.Tests;

/// <summary>
/// <see cref="SqliteBusyTimeout"/> sets <c>busy_timeout</c> once per native connection: a pooled re-open keeps what the handle
/// already has (here a value set by hand, which a second PRAGMA would overwrite), while a new handle still gets the timeout.
/// </summary>
[Collection(Name)]
public sealed class SqliteBusyTimeoutTests : IDisposable
{
    // Alone: another class emptying every pool (SqliteConnection.ClearAllPools) between a close and a re-open here would
    // hand out a new native connection where the test needs the pooled one.
    public const string Name = "SQLite pools undisturbed";

    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("beacon-busy-");
    private string ConnectionString => $"Data Source={Path.Combine(_folder.FullName, "busy.db")};Default Timeout=12";

    [Fact]
    public async Task A_pooled_reopen_does_not_set_the_timeout_again_and_a_new_handle_gets_it()
    {
        object firstHandle;
        await using (var db = Context())
        {
            await db.Database.OpenConnectionAsync();
            Assert.Equal(12_000, await BusyTimeoutAsync(db));
            firstHandle = Connection(db).Handle!;
            await using var byHand = Connection(db).CreateCommand();
            byHand.CommandText = "PRAGMA busy_timeout = 1234";
            await byHand.ExecuteNonQueryAsync();
        }

        // The pool hands the same native connection back, and the interceptor leaves it as it is (async and sync opens).
        await using (var db = Context())
        {
            await db.Database.OpenConnectionAsync();
            Assert.Same(firstHandle, Connection(db).Handle);
            Assert.Equal(1234, await BusyTimeoutAsync(db));
        }
        await using (var db = Context())
        {
            db.Database.OpenConnection();
            Assert.Same(firstHandle, Connection(db).Handle);
            Assert.Equal(1234, await BusyTimeoutAsync(db));
        }

        // A new native connection (the pool emptied) is set again.
        SqliteConnection.ClearPool(new SqliteConnection(ConnectionString));
        await using (var db = Context())
        {
            db.Database.OpenConnection();
            Assert.NotSame(firstHandle, Connection(db).Handle);
            Assert.Equal(12_000, await BusyTimeoutAsync(db));
        }
    }

    [Fact]
    public async Task Connections_opened_at_once_each_wait_as_long_as_their_connection_string_says()
    {
        // Several handles opened together, then each re-opened: every one reads the timeout it was given.
        var timeouts = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            await using var db = Context();
            await db.Database.OpenConnectionAsync();
            return await BusyTimeoutAsync(db);
        })));
        Assert.All(timeouts, t => Assert.Equal(12_000, t));
    }

    private DbContext Context() =>
        new(new DbContextOptionsBuilder().UseSqlite(ConnectionString).AddInterceptors(SqliteBusyTimeout.Instance).Options);

    private static SqliteConnection Connection(DbContext db) => (SqliteConnection)db.Database.GetDbConnection();

    private static async Task<long> BusyTimeoutAsync(DbContext db)
    {
        await using var command = Connection(db).CreateCommand();
        command.CommandText = "PRAGMA busy_timeout";
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public void Dispose()
    {
        SqliteConnection.ClearPool(new SqliteConnection(ConnectionString));
        _folder.Delete(recursive: true);
    }
}

[CollectionDefinition(SqliteBusyTimeoutTests.Name, DisableParallelization = true)]
public sealed class SqlitePoolsUndisturbed;
