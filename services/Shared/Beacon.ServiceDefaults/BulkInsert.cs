using System.Data.Common;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace Beacon.ServiceDefaults;

/// <summary>
/// Writes many rows of one entity type without the change tracker, from the entity's own mapping (table, columns, the
/// provider's type mappings and value converters), on the context's connection inside its current transaction, so they
/// commit or roll back with whatever else the unit of work saves (its outbox rows). Two kinds of write share the
/// statement (<see cref="BulkStatement"/>): <see cref="InsertNewAsync"/> for rows known to be new (tracking 2,000 new
/// rows a chunk and saving them one statement each was most of an ingestion chunk's time, bench/RESULTS.md) and
/// <see cref="InsertOrUpdateAsync"/>, an upsert for rows that may be stored already (Early warning's scores).
/// </summary>
public static class BulkInsert
{
    // PostgreSQL: multi-row statements of up to this many parameters (it takes 65,535; larger statements gain nothing).
    private const int MaxParameters = 8_000;

    /// <summary>
    /// Inserts rows known to be new, every mapped column. A row whose key is already stored fails the statement with the
    /// provider's unique violation, as SaveChanges would (<see cref="UniqueViolation"/>). An entity with a store-generated
    /// key is inserted only with <paramref name="storeNumbersKey"/>: the store numbers the rows and the numbers are not read
    /// back (an append-only log nobody looks up by key from the writer: Early warning's attendance versions).
    /// </summary>
    public static async Task<int> InsertNewAsync<TEntity>(this DbContext db, IReadOnlyList<TEntity> rows, CancellationToken ct, bool storeNumbersKey = false)
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
        var statement = BulkStatement.For<TEntity>(db, generatedColumns: true, storeKey: storeNumbersKey);
        if (!storeNumbersKey && statement.Columns.Any(c => c.Property.IsPrimaryKey() && c.Property.ValueGenerated != ValueGenerated.Never))
        {
            throw new NotSupportedException($"{typeof(TEntity).Name} has a store-generated key; insert it through SaveChanges.");
        }
        if (db.Database.IsSqlite())
        {
            await using var command = db.Database.GetDbConnection().CreateCommand();
            command.Transaction = transaction.GetDbTransaction();
            return statement.StepEach(command, tail: "", rows, ct);
        }
        return await MultiRowAsync(db, statement, rows, ct);
    }

    /// <summary>
    /// Inserts rows or, where the key is stored, overwrites the stored row's columns: <c>INSERT … ON CONFLICT (key) DO
    /// UPDATE SET … = excluded.…</c>, which SQLite (3.24+) and PostgreSQL both understand word for word. Columns the
    /// store generates (other than the key) are left to the store. Joins the context's current transaction if there is
    /// one. On PostgreSQL one statement (one round trip) per call, the rows as one array per column (<c>SELECT * FROM
    /// unnest(…)</c>); on SQLite (in-process: no round trip) one prepared single-row statement run per row.
    /// </summary>
    public static async Task<int> InsertOrUpdateAsync<TEntity>(this DbContext db, IReadOnlyList<TEntity> rows, CancellationToken ct)
        where TEntity : class
    {
        if (rows.Count == 0)
        {
            return 0;
        }
        var statement = BulkStatement.For<TEntity>(db, generatedColumns: false);
        if (statement.KeyNames.Count == 0)
        {
            throw new NotSupportedException($"{typeof(TEntity).Name} has no key to upsert on.");
        }
        var updates = statement.Columns.Where(c => !c.Property.IsPrimaryKey()).Select(c => $"{c.Name} = excluded.{c.Name}").ToArray();
        var tail = $" ON CONFLICT ({string.Join(", ", statement.KeyNames)}) DO " + (updates.Length == 0 ? "NOTHING" : "UPDATE SET " + string.Join(", ", updates));

        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var command = db.Database.GetDbConnection().CreateCommand();
            command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
            command.CommandTimeout = db.Database.GetCommandTimeout() ?? command.CommandTimeout;
            if (db.Database.IsSqlite())
            {
                return statement.StepEach(command, tail, rows, ct);
            }
            statement.Unnest(command, tail, rows);
            return await command.ExecuteNonQueryAsync(ct);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>Other providers (PostgreSQL): multi-row INSERTs through EF, so the context's command interceptors see them.</summary>
    private static async Task<int> MultiRowAsync<TEntity>(DbContext db, BulkStatement statement, IReadOnlyList<TEntity> rows, CancellationToken ct)
        where TEntity : class
    {
        var columns = statement.Columns;
        var perStatement = Math.Max(1, MaxParameters / columns.Count);
        var sql = db.GetService<ISqlGenerationHelper>();
        // The provider's parameters are made by its type mappings (converters included) on a command used only as their factory.
        await using var factory = db.Database.GetDbConnection().CreateCommand();
        var inserted = 0;
        var text = new StringBuilder();
        for (var start = 0; start < rows.Count; start += perStatement)
        {
            var count = Math.Min(perStatement, rows.Count - start);
            var parameters = new object[count * columns.Count];
            text.Clear().Append(statement.Head);
            for (var r = 0; r < count; r++)
            {
                text.Append(r == 0 ? "(" : ", (");
                for (var c = 0; c < columns.Count; c++)
                {
                    var k = r * columns.Count + c;
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

/// <summary>One mapped column of a bulk write: its delimited name, the provider's type mapping and the entity's getter.</summary>
public sealed record BulkColumn(IProperty Property, string Name, RelationalTypeMapping Mapping, IClrPropertyGetter Getter)
{
    /// <summary>The row's value as the provider stores it (the mapping's value converter applied), null as null.</summary>
    public object? ProviderValue(object row)
    {
        var value = Getter.GetClrValueUsingContainingEntity(row);
        return Mapping.Converter is { } converter && value is not null ? converter.ConvertToProvider(value) : value;
    }
}

/// <summary>
/// What every bulk write of an entity builds from the EF model: its columns, <c>INSERT INTO table (columns) VALUES </c>,
/// the key's column names, and on SQLite the single-row statement prepared once and stepped per row.
/// </summary>
public sealed class BulkStatement
{
    private BulkStatement(IReadOnlyList<BulkColumn> columns, string head, IReadOnlyList<string> keyNames) =>
        (Columns, Head, KeyNames) = (columns, head, keyNames);

    public IReadOnlyList<BulkColumn> Columns { get; }

    /// <summary><c>INSERT INTO "table" ("a", "b") VALUES </c>: the values (or a SELECT in their place) follow.</summary>
    public string Head { get; }

    public IReadOnlyList<string> KeyNames { get; }

    /// <param name="db">The context whose model maps the entity.</param>
    /// <param name="generatedColumns">Whether columns the store generates (other than the key) are written too.</param>
    /// <param name="storeKey">Whether the key is left out for the store to number (the caller reads it back with a
    /// <c>RETURNING</c> tail: the outbox's sequence).</param>
    public static BulkStatement For<TEntity>(DbContext db, bool generatedColumns, bool storeKey = false)
        where TEntity : class
    {
        var entity = db.Model.FindEntityType(typeof(TEntity)) ?? throw new InvalidOperationException($"{typeof(TEntity).Name} is not in this context's model.");
        var tableName = entity.GetTableName() ?? throw new InvalidOperationException($"{typeof(TEntity).Name} is not mapped to a table.");
        var table = StoreObjectIdentifier.Table(tableName, entity.GetSchema());
        var sql = db.GetService<ISqlGenerationHelper>();
        var columns = entity.GetProperties()
            .Where(p => p.IsPrimaryKey() ? !storeKey : generatedColumns || p.ValueGenerated == ValueGenerated.Never)
            .Select(p => new BulkColumn(p, sql.DelimitIdentifier(p.GetColumnName(table)!), p.GetRelationalTypeMapping(), p.GetGetter()))
            .ToArray();
        var keyNames = entity.FindPrimaryKey()?.Properties.Select(p => sql.DelimitIdentifier(p.GetColumnName(table)!)).ToArray() ?? [];
        var head = $"INSERT INTO {sql.DelimitIdentifier(tableName, entity.GetSchema())} ({string.Join(", ", columns.Select(c => c.Name))}) VALUES ";
        return new BulkStatement(columns, head, keyNames);
    }

    /// <summary>
    /// SQLite: the single-row statement (<see cref="Head"/>, one parameter per column, then <paramref name="tail"/>)
    /// prepared once on <paramref name="command"/> (its connection open, its transaction set) and stepped per row, the
    /// fastest way in: Microsoft.Data.Sqlite binds each parameter by a search of the statement's names, so a multi-row
    /// statement's thousands of parameters cost more than they save, and in-process there is no round trip to save.
    /// With <paramref name="readRow"/> (a <c>RETURNING</c> tail) each step's result rows are handed to it.
    /// Returns the rows the steps changed.
    /// </summary>
    public int StepEach<TEntity>(DbCommand command, string tail, IReadOnlyList<TEntity> rows, CancellationToken ct, Action<DbDataReader>? readRow = null)
        where TEntity : class
    {
        command.CommandText = Head + "(" + string.Join(", ", Columns.Select((_, c) => $"@b{c}")) + ")" + tail;
        var parameters = Columns.Select((column, c) => column.Mapping.CreateParameter(command, $"@b{c}", null, column.Property.IsNullable)).ToArray();
        command.Parameters.AddRange(parameters);
        command.Prepare();
        var written = 0;
        foreach (var row in rows)
        {
            ct.ThrowIfCancellationRequested();
            for (var c = 0; c < parameters.Length; c++)
            {
                parameters[c].Value = Columns[c].ProviderValue(row) ?? DBNull.Value;
            }
            if (readRow is null)
            {
                written += command.ExecuteNonQuery();
                continue;
            }
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                readRow(reader);
            }
            reader.Close();
            written += reader.RecordsAffected;
        }
        return written;
    }

    /// <summary>
    /// PostgreSQL: one statement for all the rows whatever their number, one typed array per column (<c>SELECT * FROM
    /// unnest(…)</c>: a handful of parameters, not one per value), so the text is the same for every call and the server
    /// plans it once per connection; <paramref name="tail"/> follows. Sets <paramref name="command"/>'s text and
    /// parameters, cleaned as the context's own commands are (PostgreSQL text cannot hold NUL).
    /// </summary>
    public void Unnest<TEntity>(DbCommand command, string tail, IReadOnlyList<TEntity> rows)
        where TEntity : class
    {
        command.CommandText = Head.Replace(" VALUES ", " SELECT * FROM unnest(", StringComparison.Ordinal)
            + string.Join(", ", Columns.Select((column, c) => $"@c{c}::{column.Mapping.StoreType}[]")) + ")" + tail;
        for (var c = 0; c < Columns.Count; c++)
        {
            var column = Columns[c];
            var type = column.Mapping.Converter?.ProviderClrType ?? column.Mapping.ClrType;
            type = column.Property.IsNullable && type.IsValueType && Nullable.GetUnderlyingType(type) is null ? typeof(Nullable<>).MakeGenericType(type) : type;
            var values = Array.CreateInstance(type, rows.Count);
            for (var r = 0; r < rows.Count; r++)
            {
                values.SetValue(column.ProviderValue(rows[r]), r);
            }
            var parameter = command.CreateParameter();
            parameter.ParameterName = $"c{c}";
            parameter.Value = values;
            command.Parameters.Add(parameter);
        }
        PostgresTextInterceptor.Clean(command);
    }
}
