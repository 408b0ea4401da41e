using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace Beacon.EarlyWarning.Storage;

/// <summary>
/// The week's snapshots of scores just written, copied by the database from the score rows: a snapshot is the score row's
/// columns of the same name (school, model, version, score, flag, threshold, time) with the week and not backfilled, so
/// one <c>INSERT … SELECT … ON CONFLICT DO UPDATE</c> writes what binding every snapshot row again would, without sending
/// it. Measured (bench/RESULTS.md): binding a snapshot per row was a fifth of a first scoring's writes.
/// </summary>
public static class WeekSnapshots
{
    /// <summary>Upserts the <paramref name="week"/> snapshot of each student's stored <paramref name="kind"/> score, inside the caller's transaction.</summary>
    public static async Task<int> CopyFromScoresAsync(this EarlyWarningDbContext db, string kind, DateOnly week, IReadOnlyList<string> studentIds, CancellationToken ct)
    {
        if (studentIds.Count == 0)
        {
            return 0;
        }
        if (db.Database.CurrentTransaction is not { } transaction)
        {
            throw new InvalidOperationException("Snapshots are copied inside the unit of work that wrote the scores.");
        }
        var sql = db.GetService<ISqlGenerationHelper>();
        var snapshot = db.Model.FindEntityType(typeof(ScoreSnapshot))!;
        var score = db.Model.FindEntityType(typeof(StudentRiskScore))!;
        var snapshotTable = StoreObjectIdentifier.Table(snapshot.GetTableName()!, snapshot.GetSchema());
        var scoreTable = StoreObjectIdentifier.Table(score.GetTableName()!, score.GetSchema());
        string Name(IProperty p, StoreObjectIdentifier table) => sql.DelimitIdentifier(p.GetColumnName(table)!);

        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.Transaction = transaction.GetDbTransaction();
        command.CommandTimeout = db.Database.GetCommandTimeout() ?? command.CommandTimeout;
        var targets = new List<string>();
        var sources = new List<string>();
        foreach (var property in snapshot.GetProperties())
        {
            targets.Add(Name(property, snapshotTable));
            if (score.FindProperty(property.Name) is { } same)
            {
                sources.Add(Name(same, scoreTable));
                continue;
            }
            // The week, and Backfilled (false): parameters made by the snapshot's own type mappings, as SaveChanges would store them.
            object value = property.Name switch
            {
                nameof(ScoreSnapshot.WeekStart) => week,
                nameof(ScoreSnapshot.Backfilled) => false,
                _ => throw new InvalidOperationException($"ScoreSnapshot.{property.Name} has no column in the score row to copy."),
            };
            var name = "p" + sources.Count;
            command.Parameters.Add(property.GetRelationalTypeMapping().CreateParameter(command, name, value, nullable: false));
            sources.Add("@" + name);
        }
        var key = snapshot.FindPrimaryKey()!.Properties.Select(p => Name(p, snapshotTable)).ToArray();
        var kindColumn = Name(score.FindProperty(nameof(StudentRiskScore.Kind))!, scoreTable);
        var studentColumn = Name(score.FindProperty(nameof(StudentRiskScore.StudentId))!, scoreTable);
        command.Parameters.Add(score.FindProperty(nameof(StudentRiskScore.Kind))!.GetRelationalTypeMapping().CreateParameter(command, "kind", kind, nullable: false));
        // The students as one parameter: a JSON array on SQLite (json_each), a text[] on PostgreSQL.
        var students = command.CreateParameter();
        students.ParameterName = "students";
        students.Value = db.Database.IsSqlite() ? JsonSerializer.Serialize(studentIds) : studentIds.ToArray();
        command.Parameters.Add(students);
        var chosen = db.Database.IsSqlite() ? $"{studentColumn} IN (SELECT value FROM json_each(@students))" : $"{studentColumn} = ANY(@students)";
        command.CommandText = $"INSERT INTO {sql.DelimitIdentifier(snapshotTable.Name, snapshotTable.Schema)} ({string.Join(", ", targets)}) "
            + $"SELECT {string.Join(", ", sources)} FROM {sql.DelimitIdentifier(scoreTable.Name, scoreTable.Schema)} WHERE {kindColumn} = @kind AND {chosen} "
            + $"ON CONFLICT ({string.Join(", ", key)}) DO UPDATE SET "
            + string.Join(", ", targets.Except(key).Select(c => $"{c} = excluded.{c}"));
        return await command.ExecuteNonQueryAsync(ct);
    }
}
