using Microsoft.Data.Sqlite;
using Npgsql;

namespace Beacon.ServiceDefaults;

/// <summary>
/// A unique key or primary key refused an insert: on SQLite SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY, on PostgreSQL
/// unique_violation (23505). Two requests that both found a key new and both inserted it end this way; the loser can
/// look again and find the row stored.
/// </summary>
public static class UniqueViolation
{
    public static bool Is(Exception? exception)
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is SqliteException { SqliteErrorCode: 19, SqliteExtendedErrorCode: 2067 or 1555 } or PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
            {
                return true;
            }
        }
        return false;
    }
}

/// <summary>
/// Concurrent writers kept taking the same keys first, after as many fresh looks as the caller allows. Nothing of the
/// failed part was stored; like a busy database (<see cref="DatabaseBusyHandler"/>) it is a 503 with Retry-After, and
/// the same request sent again finds those rows stored.
/// </summary>
public sealed class ConcurrentWriteException(string message, Exception inner) : Exception(message, inner);
