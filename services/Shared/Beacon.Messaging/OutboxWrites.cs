using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace Beacon.Messaging;

/// <summary>
/// Many events into the outbox at once, without the change tracker: the same rows <see cref="OutboxExtensions.Publish{TMessage}"/>
/// adds, inserted by the caller's open transaction and handed to the relay when it commits (forgotten if it rolls back), so
/// they are still saved with the state change that caused them. For batch writers (Early warning's re-score) that already
/// write their own rows in bulk: tracking thousands of outbox rows per transaction and saving them through EF (one statement
/// each, parameters bound by a search of the whole batch's names on SQLite) cost more than the scores they announce.
/// On SQLite one prepared single-row INSERT … RETURNING stepped per row (in-process, no round trip); on PostgreSQL one
/// statement for all of them, one array per column.
/// </summary>
public static class OutboxWrites
{
    public static async Task PublishAllAsync<TMessage>(this DbContext db, IReadOnlyList<TMessage> messages, CancellationToken ct)
        where TMessage : class
    {
        if (messages.Count == 0)
        {
            return;
        }
        if (db.Database.CurrentTransaction is not { } transaction)
        {
            // Outside a transaction the events would commit apart from the state they announce.
            throw new InvalidOperationException("Outbox rows written in bulk need the unit of work's open transaction.");
        }
        var rows = new OutboxMessage[messages.Count];
        Parallel.For(0, rows.Length, i => rows[i] = OutboxExtensions.Row(messages[i]));

        var entity = db.Model.FindEntityType(typeof(OutboxMessage)) ?? throw new InvalidOperationException("The outbox is not in this context's model (AddOutbox).");
        var store = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
        var sql = db.GetService<ISqlGenerationHelper>();
        string Column(string property) => sql.DelimitIdentifier(entity.FindProperty(property)!.GetColumnName(store)!);
        RelationalTypeMapping Mapping(string property) => entity.FindProperty(property)!.GetRelationalTypeMapping();
        // SentAt and LastError stay null; Attempts has no store default, so it is written.
        var names = new[] { nameof(OutboxMessage.MessageId), nameof(OutboxMessage.MessageType), nameof(OutboxMessage.Body), nameof(OutboxMessage.CreatedAt) };
        var values = new Func<OutboxMessage, object>[] { r => r.MessageId, r => r.MessageType, r => r.Body, r => r.CreatedAt };
        var head = $"INSERT INTO {sql.DelimitIdentifier(store.Name, store.Schema)} ({string.Join(", ", names.Select(Column))}, {Column(nameof(OutboxMessage.Attempts))}) ";
        var returning = $" RETURNING {Column(nameof(OutboxMessage.Sequence))}, {Column(nameof(OutboxMessage.MessageId))}";

        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.Transaction = transaction.GetDbTransaction();
        command.CommandTimeout = db.Database.GetCommandTimeout() ?? command.CommandTimeout;
        var byId = rows.ToDictionary(r => r.MessageId);
        if (db.Database.IsSqlite())
        {
            command.CommandText = head + "VALUES (" + string.Join(", ", names.Select((_, c) => "@b" + c)) + ", 0)" + returning;
            foreach (var row in rows)
            {
                command.Parameters.Clear();
                for (var c = 0; c < names.Length; c++)
                {
                    command.Parameters.Add(Mapping(names[c]).CreateParameter(command, "@b" + c, values[c](row), nullable: false));
                }
                await ReadSequencesAsync(command, byId, ct);
            }
        }
        else
        {
            // PostgreSQL: the rows as one array per column, so one round trip whatever their number.
            command.CommandText = head + "SELECT *, 0 FROM unnest(" + string.Join(", ", names.Select((name, c) => $"@c{c}::{Mapping(name).StoreType}[]")) + ")" + returning;
            for (var c = 0; c < names.Length; c++)
            {
                var parameter = command.CreateParameter();
                parameter.ParameterName = "c" + c;
                parameter.Value = c switch
                {
                    0 => rows.Select(r => r.MessageId).ToArray(),
                    1 => rows.Select(r => r.MessageType).ToArray(),
                    2 => rows.Select(r => r.Body).ToArray(),
                    _ => (object)rows.Select(r => r.CreatedAt).ToArray(),
                };
                command.Parameters.Add(parameter);
            }
            // What the context's own commands get from its interceptor: PostgreSQL text cannot hold NUL.
            PostgresTextInterceptor.Clean(command);
            await ReadSequencesAsync(command, byId, ct);
        }
        OutboxSaveInterceptor.Written(db, rows);
    }

    // The store numbers the rows (the relay's order and its "sent" marks go by it); matched back by message id.
    private static async Task ReadSequencesAsync(System.Data.Common.DbCommand command, Dictionary<Guid, OutboxMessage> byId, CancellationToken ct)
    {
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var id = reader.GetValue(1) is Guid guid ? guid : Guid.Parse(reader.GetString(1));
            byId[id].Sequence = reader.GetInt64(0);
        }
    }
}
