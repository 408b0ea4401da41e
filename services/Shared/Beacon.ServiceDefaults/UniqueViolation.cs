using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
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

    /// <summary>
    /// Looks a unit of work gets when concurrent writers store its new keys first: each retry finds the keys the others
    /// stored, so more than one is needed only when yet another writer wins again; past this it is a 503 and the sender
    /// sends it again.
    /// </summary>
    public const int Attempts = 4;

    /// <summary>
    /// Runs <paramref name="work"/> (which must commit all or nothing) again while a unique key refuses its commit, with
    /// the change tracker cleared and <paramref name="rollBack"/> undoing what the caller noted of the failed pass; after
    /// <see cref="Attempts"/> it throws <see cref="ConcurrentWriteException"/>.
    /// </summary>
    public static async Task<T> RetryAsync<T>(DbContext db, string what, Func<Task<T>> work, Action? rollBack = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await work();
            }
            catch (DbUpdateException e) when (Is(e) && db.Database.CurrentTransaction is null)
            {
                db.ChangeTracker.Clear();
                rollBack?.Invoke();
                if (attempt == Attempts)
                {
                    throw new ConcurrentWriteException($"Concurrent writers kept storing {what}'s keys first ({attempt} attempts).", e);
                }
            }
        }
    }
}

/// <summary>
/// Concurrent writers kept taking the same keys first, after as many fresh looks as the caller allows. Nothing of the
/// failed part was stored; like a busy database (<see cref="DatabaseBusyHandler"/>) it is a 503 with Retry-After, and
/// the same request sent again finds those rows stored.
/// </summary>
public sealed class ConcurrentWriteException(string message, Exception inner) : Exception(message, inner);
