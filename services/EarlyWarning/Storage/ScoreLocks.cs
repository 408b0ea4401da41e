using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace Beacon.EarlyWarning.Storage;

/// <summary>
/// Serialises the scorings of one student by one kind across units of work (issue #18): the grades, behaviour, LMS,
/// mastery and attendance consumers each score the students their batch changed, and two of them scoring the same
/// student at once both read the stored score (or its absence) before either wrote it. The first score was then inserted
/// twice (a unique key refused the later commit and its whole batch was retried), and a later one was decided on a view
/// the other had just overwritten (the last writer's score missed the other's signals, its hysteresis a crossing).
/// Locked before the stored scores and the signals are read, the second scoring waits for the first to commit and then
/// reads both.
/// </summary>
public static class ScoreLocks
{
    // The first key of pg_advisory_xact_lock(int, int): the two-int key space is the scores' own (no other lock here uses it).
    private const int ScoresClass = 0x5C0E;

    /// <summary>
    /// Locks the students' scores of <paramref name="kind"/> until the unit of work commits or rolls back, opening its
    /// transaction (<see cref="UnitOfWork.BeginUnitOfWorkAsync"/>) when none is open. On SQLite the transaction
    /// is the lock: it holds the database's write lock. On PostgreSQL a transaction-scoped advisory lock per student and
    /// kind, taken in one order, so two batches that share students never wait for each other in a cycle.
    /// </summary>
    public static async Task LockScoresAsync(this EarlyWarningDbContext db, string kind, IEnumerable<string> studentIds, CancellationToken ct)
    {
        await db.BeginUnitOfWorkAsync(ct);
        if (db.Database.GetDbConnection() is not NpgsqlConnection connection)
        {
            return;
        }
        var keys = studentIds.Select(s => Key(kind, s)).Distinct().Order().ToArray();
        if (keys.Length == 0)
        {
            return;
        }
        await using var command = connection.CreateCommand();
        command.Transaction = (NpgsqlTransaction?)db.Database.CurrentTransaction!.GetDbTransaction();
        // Locked in the array's order (the function runs after the sort: PostgreSQL evaluates volatile outputs last).
        command.CommandText = "SELECT pg_advisory_xact_lock(@class, k) FROM unnest(@keys) WITH ORDINALITY AS t(k, i) ORDER BY i";
        command.Parameters.AddWithValue("class", ScoresClass);
        command.Parameters.AddWithValue("keys", keys);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>A stable 32-bit key (FNV-1a; string.GetHashCode differs between processes). Two students sharing one only wait for each other.</summary>
    public static int Key(string kind, string studentId)
    {
        var hash = 2166136261u;
        foreach (var c in kind.Append('\0').Concat(studentId))
        {
            hash = (hash ^ c) * 16777619u;
        }
        return unchecked((int)hash);
    }
}
