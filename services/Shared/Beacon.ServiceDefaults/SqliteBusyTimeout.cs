using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Beacon.ServiceDefaults;

/// <summary>
/// Lets SQLite itself wait for its write lock (<c>PRAGMA busy_timeout</c>, as long as the connection's Default Timeout).
/// Without it Microsoft.Data.Sqlite retries a busy statement by sleeping 150 ms at a time on the calling thread: a writer
/// that found the lock taken for a millisecond lost 150 ms, and a service whose consumers write at once (six signal
/// kinds, the roster, the outbox relay) spent its first minute after a start with thread-pool threads asleep in that loop
/// while its queues grew (the warm-up of issue #24, traced). SQLite's own handler retries after 1, 2, 5, 10 ms and so on,
/// so a waiter takes the lock soon after it is released. Nothing else changes: the same total wait, then
/// "database is locked" (503 with Retry-After through <see cref="DatabaseBusyHandler"/>).
/// </summary>
public sealed class SqliteBusyTimeout : DbConnectionInterceptor
{
    public static readonly SqliteBusyTimeout Instance = new();

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        using var command = Pragma(connection);
        command?.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        await using var command = Pragma(connection);
        if (command is not null)
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static SqliteCommand? Pragma(DbConnection connection)
    {
        if (connection is not SqliteConnection sqlite)
        {
            return null;
        }
        var command = sqlite.CreateCommand();
        command.CommandText = $"PRAGMA busy_timeout = {Math.Max(0, sqlite.DefaultTimeout) * 1000L}";
        return command;
    }
}
