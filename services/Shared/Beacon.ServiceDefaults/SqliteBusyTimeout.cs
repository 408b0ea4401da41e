using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;
using SQLitePCL;

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
/// <remarks>
/// The setting belongs to the native connection (<see cref="SqliteConnection.Handle"/>), which the pool hands back on every
/// re-open of the same connection string: the PRAGMA runs when a handle is first seen (or asked for another timeout), not
/// on each of the many opens a unit of work makes. The handles seen are held weakly, so a handle the pool closes is forgotten.
/// </remarks>
public sealed class SqliteBusyTimeout : DbConnectionInterceptor
{
    public static readonly SqliteBusyTimeout Instance = new();

    // ConditionalWeakTable is thread-safe; a handle belongs to one open connection at a time, so two opens never race on one.
    private static readonly ConditionalWeakTable<sqlite3, StrongBox<long>> Applied = new();

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        if (Needed(connection) is not { } needed)
        {
            return;
        }
        using (var command = Pragma(needed.Connection, needed.Milliseconds))
        {
            command.ExecuteNonQuery();
        }
        Remember(needed.Connection, needed.Milliseconds);
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        if (Needed(connection) is not { } needed)
        {
            return;
        }
        await using (var command = Pragma(needed.Connection, needed.Milliseconds))
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        Remember(needed.Connection, needed.Milliseconds);
    }

    /// <summary>A SQLite connection whose native handle does not wait as long as asked yet, with the wait asked.</summary>
    private static (SqliteConnection Connection, long Milliseconds)? Needed(DbConnection connection)
    {
        if (connection is not SqliteConnection { Handle: { } handle } sqlite)
        {
            return null;
        }
        var milliseconds = Math.Max(0, sqlite.DefaultTimeout) * 1000L;
        return Applied.TryGetValue(handle, out var applied) && applied.Value == milliseconds ? null : (sqlite, milliseconds);
    }

    private static SqliteCommand Pragma(SqliteConnection connection, long milliseconds)
    {
        var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA busy_timeout = {milliseconds}";
        return command;
    }

    // Remembered only once the PRAGMA ran, so a cancelled or failed one is tried again on the next open.
    private static void Remember(SqliteConnection connection, long milliseconds) =>
        Applied.AddOrUpdate(connection.Handle!, new StrongBox<long>(milliseconds));
}
