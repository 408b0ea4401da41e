using System.Data.Common;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace Beacon.ServiceDefaults;

/// <summary>
/// Inserts rows known to be new without the change tracker: multi-row INSERT statements built from the entity's own
/// mapping (table, columns, the provider's type mappings and value converters), run on the context's connection inside
/// its current transaction, so they commit or roll back with whatever else the unit of work saves. Tracking 2,000
/// new rows a chunk and saving them one statement each was most of an ingestion chunk's time (bench/RESULTS.md).
/// A row whose key is already stored fails the statement with the provider's unique violation, as SaveChanges would
/// (<see cref="UniqueViolation"/>). Entities with store-generated keys are not supported (their keys would not be read back).
/// </summary>
public static class BulkInsert
{
    // PostgreSQL: multi-row statements of up to this many parameters (it takes 65,535; larger statements gain nothing).
    private const int MaxParameters = 8_000;

    public static async Task<int> InsertNewAsync<TEntity>(this DbContext db, IReadOnlyList<TEntity> rows, CancellationToken ct)
        where TEntity : class
    {
        if (rows.Count == 0)
        {
            return 0;
        }
        if (db.Database.CurrentTransaction is not { } transaction)
        {
            // Outside a transaction each statement would commit on its own, apart from the events and state saved with it.
            throw new InvalidOperationException($"Bulk inserts of {typeof(TEntity).Name} run inside the unit of work's transaction.");
        }
        var entity = db.Model.FindEntityType(typeof(TEntity)) ?? throw new InvalidOperationException($"{typeof(TEntity).Name} is not in this context's model.");
        var table = entity.GetTableName() ?? throw new InvalidOperationException($"{typeof(TEntity).Name} is not mapped to a table.");
        var store = StoreObjectIdentifier.Table(table, entity.GetSchema());
        var columns = entity.GetProperties().Select(p => new Column(p, p.GetRelationalTypeMapping(), p.GetGetter())).ToArray();
        if (columns.Any(c => c.Property.IsPrimaryKey() && c.Property.ValueGenerated != ValueGenerated.Never))
        {
            throw new NotSupportedException($"{typeof(TEntity).Name} has a store-generated key; insert it through SaveChanges.");
        }
        var sql = db.GetService<ISqlGenerationHelper>();
        var head = $"INSERT INTO {sql.DelimitIdentifier(table, entity.GetSchema())} ("
            + string.Join(", ", columns.Select(c => sql.DelimitIdentifier(c.Property.GetColumnName(store)!))) + ") VALUES ";
        return db.Database.IsSqlite()
            ? await PreparedAsync(db, transaction.GetDbTransaction(), head, columns, rows, sql, ct)
            : await MultiRowAsync(db, head, columns, rows, sql, ct);
    }

    private sealed record Column(IProperty Property, RelationalTypeMapping Mapping, IClrPropertyGetter Getter);

    /// <summary>
    /// SQLite: one single-row INSERT prepared once and stepped per row, the fastest way in. (Multi-row statements bind
    /// their parameters by name, a lookup that grows with the statement: thousands of parameters cost more than they save.)
    /// </summary>
    private static async Task<int> PreparedAsync<TEntity>(DbContext db, DbTransaction transaction, string head, Column[] columns,
        IReadOnlyList<TEntity> rows, ISqlGenerationHelper sql, CancellationToken ct)
        where TEntity : class
    {
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.Transaction = transaction;
        command.CommandText = head + "(" + string.Join(", ", columns.Select((_, c) => sql.GenerateParameterNamePlaceholder("b" + c))) + ")";
        var inserted = 0;
        foreach (var row in rows)
        {
            command.Parameters.Clear();
            for (var c = 0; c < columns.Length; c++)
            {
                command.Parameters.Add(columns[c].Mapping.CreateParameter(command, "b" + c, columns[c].Getter.GetClrValueUsingContainingEntity(row), columns[c].Property.IsNullable));
            }
            inserted += await command.ExecuteNonQueryAsync(ct);
        }
        return inserted;
    }

    /// <summary>Other providers (PostgreSQL): multi-row INSERTs through EF, so the context's command interceptors see them.</summary>
    private static async Task<int> MultiRowAsync<TEntity>(DbContext db, string head, Column[] columns, IReadOnlyList<TEntity> rows,
        ISqlGenerationHelper sql, CancellationToken ct)
        where TEntity : class
    {
        var perStatement = Math.Max(1, MaxParameters / columns.Length);
        // The provider's parameters are made by its type mappings (converters included) on a command used only as their factory.
        await using var factory = db.Database.GetDbConnection().CreateCommand();
        var inserted = 0;
        var text = new StringBuilder();
        for (var start = 0; start < rows.Count; start += perStatement)
        {
            var count = Math.Min(perStatement, rows.Count - start);
            var parameters = new object[count * columns.Length];
            text.Clear().Append(head);
            for (var r = 0; r < count; r++)
            {
                text.Append(r == 0 ? "(" : ", (");
                for (var c = 0; c < columns.Length; c++)
                {
                    var k = r * columns.Length + c;
                    var name = "b" + k;
                    parameters[k] = columns[c].Mapping.CreateParameter(factory, name, columns[c].Getter.GetClrValueUsingContainingEntity(rows[start + r]), columns[c].Property.IsNullable);
                    text.Append(c == 0 ? "" : ", ").Append(sql.GenerateParameterNamePlaceholder(name));
                }
                text.Append(')');
            }
#pragma warning disable EF1002 // the text holds only the model's identifiers and parameter placeholders; every value is a parameter
            inserted += await db.Database.ExecuteSqlRawAsync(text.ToString(), parameters, ct);
#pragma warning restore EF1002
        }
        return inserted;
    }
}
