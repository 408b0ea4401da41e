using Microsoft.Data.Sqlite;
using Xunit;

namespace Beacon.Testing;

/// <summary>
/// Another writer holding a SQLite file (BEGIN EXCLUSIVE) until disposed, as an overloaded machine would: a
/// service waiting longer than its Default Timeout gets "database is locked". Disposing releases it and clears
/// the connection pools, so the service's next connection sees the file free.
/// </summary>
public sealed class SqliteLock : IAsyncDisposable
{
    private readonly SqliteConnection _holder;

    private SqliteLock(SqliteConnection holder) => _holder = holder;

    public static async Task<SqliteLock> HoldAsync(string file)
    {
        var holder = new SqliteConnection($"Data Source={file}");
        await holder.OpenAsync();
        await using var exclusive = holder.CreateCommand();
        exclusive.CommandText = "BEGIN EXCLUSIVE";
        await exclusive.ExecuteNonQueryAsync();
        return new SqliteLock(holder);
    }

    public async ValueTask DisposeAsync()
    {
        await _holder.DisposeAsync();
        SqliteConnection.ClearAllPools();
    }
}

/// <summary>
/// A class fixture: the service on a SQLite file of its own that waits at most 1 s for a lock, and
/// <see cref="HoldAsync"/> to hold that file as another writer would.
/// </summary>
public sealed class LockableSqliteService<TProgram> : IAsyncLifetime
    where TProgram : class
{
    private readonly string _file = Path.Combine(TestEnvironment.NewTempDirectory("busy"), "service.db");

    public ServiceFactory<TProgram> Service { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Service = new ServiceFactory<TProgram> { ConnectionString = $"Data Source={_file};Default Timeout=1" };
        await Service.WaitUntilReadyAsync();
    }

    public async Task DisposeAsync() => await Service.DisposeAsync();

    public Task<SqliteLock> HoldAsync() => SqliteLock.HoldAsync(_file);
}
