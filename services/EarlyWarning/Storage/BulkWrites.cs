using System.Data.Common;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace Beacon.EarlyWarning.Storage;

/// <summary>
/// Writes many rows of one entity type without the change tracker: <c>INSERT … ON CONFLICT (key) DO UPDATE SET … =
/// excluded.…</c>, an upsert SQLite (3.24+) and PostgreSQL both understand word for word. Table, columns and every value's conversion come from the EF model and its type mappings, so a row is
/// stored exactly as SaveChanges would store it (SQLite's text Guids and dates included). The command joins the
/// context's current transaction: the caller saves its outbox rows in the same one. On PostgreSQL one statement (one round
/// trip) per call, the rows as one array per column (<c>SELECT * FROM unnest(…)</c>); on SQLite (in-process: no round
/// trip) one prepared single-row statement run per row.
/// </summary>
public static class BulkWrites
{
    public static async Task<int> UpsertAsync<T>(this DbContext db, IReadOnlyList<T> rows, CancellationToken ct)
        where T : class
    {
        if (rows.Count == 0)
        {
            return 0;
        }
        var entity = db.Model.FindEntityType(typeof(T)) ?? throw new InvalidOperationException($"{typeof(T).Name} is not in the model.");
        var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
        var sql = db.GetService<ISqlGenerationHelper>();
        var key = entity.FindPrimaryKey()!.Properties;
        var columns = entity.GetProperties().Where(p => p.ValueGenerated == Microsoft.EntityFrameworkCore.Metadata.ValueGenerated.Never || key.Contains(p))
            .Select(p => (Property: p, Name: sql.DelimitIdentifier(p.GetColumnName(table)!), Mapping: p.GetRelationalTypeMapping(), Getter: p.GetGetter()))
            .ToArray();
        var keyNames = key.Select(p => sql.DelimitIdentifier(p.GetColumnName(table)!)).ToArray();
        var head = $"INSERT INTO {sql.DelimitIdentifier(table.Name, table.Schema)} ({string.Join(", ", columns.Select(c => c.Name))}) VALUES ";
        var updates = columns.Where(c => !keyNames.Contains(c.Name)).Select(c => $"{c.Name} = excluded.{c.Name}").ToArray();
        var tail = $" ON CONFLICT ({string.Join(", ", keyNames)}) DO " + (updates.Length == 0 ? "NOTHING" : "UPDATE SET " + string.Join(", ", updates));

        var connection = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var command = connection.CreateCommand();
            command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
            command.CommandTimeout = db.Database.GetCommandTimeout() ?? command.CommandTimeout;
            if (db.Database.IsSqlite())
            {
                // In-process, there is no round trip to save, and Microsoft.Data.Sqlite binds each parameter by a linear search
                // of the statement's names (quadratic in a statement's parameters): one prepared single-row statement, run per row.
                command.CommandText = head + "(" + string.Join(", ", columns.Select((_, c) => $"@b{c}")) + ")" + tail;
                var parameters = columns.Select((column, c) => column.Mapping.CreateParameter(command, $"@b{c}", null, column.Property.IsNullable)).ToArray();
                command.Parameters.AddRange(parameters);
                command.Prepare();
                var written = 0;
                foreach (var row in rows)
                {
                    for (var c = 0; c < columns.Length; c++)
                    {
                        var value = columns[c].Getter.GetClrValueUsingContainingEntity(row);
                        parameters[c].Value = (columns[c].Mapping.Converter is { } converter && value is not null ? converter.ConvertToProvider(value) : value) ?? DBNull.Value;
                    }
                    written += command.ExecuteNonQuery();
                }
                return written;
            }
            // PostgreSQL: one statement whatever the chunk's size, one typed array per column (a handful of parameters, not one
            // per value), so the text is the same for every chunk and the server plans it once per connection.
            command.CommandText = head.Replace(" VALUES ", " SELECT * FROM unnest(", StringComparison.Ordinal)
                + string.Join(", ", columns.Select((column, c) => $"@c{c}::{column.Mapping.StoreType}[]")) + ")" + tail;
            for (var c = 0; c < columns.Length; c++)
            {
                var (property, _, mapping, getter) = columns[c];
                var type = mapping.Converter?.ProviderClrType ?? mapping.ClrType;
                type = property.IsNullable && type.IsValueType && Nullable.GetUnderlyingType(type) is null ? typeof(Nullable<>).MakeGenericType(type) : type;
                var values = Array.CreateInstance(type, rows.Count);
                for (var r = 0; r < rows.Count; r++)
                {
                    var value = getter.GetClrValueUsingContainingEntity(rows[r]);
                    values.SetValue(mapping.Converter is { } converter && value is not null ? converter.ConvertToProvider(value) : value, r);
                }
                var parameter = command.CreateParameter();
                parameter.ParameterName = $"c{c}";
                parameter.Value = values;
                command.Parameters.Add(parameter);
            }
            // What the context's own commands get from its interceptor: PostgreSQL text cannot hold NUL.
            PostgresTextInterceptor.Clean(command);
            return await command.ExecuteNonQueryAsync(ct);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }
}
