using Microsoft.Data.Sqlite;

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
