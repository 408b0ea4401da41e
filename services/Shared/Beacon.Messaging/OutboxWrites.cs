using System.Data.Common;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Beacon.Messaging;

/// <summary>
/// Many events into the outbox at once, without the change tracker: the same rows <see cref="OutboxExtensions.Publish{TMessage}"/>
/// adds, inserted by the caller's open transaction and handed to the relay when it commits (forgotten if it rolls back), so
/// they are still saved with the state change that caused them. For batch writers (Early warning's re-score) that already
/// write their own rows in bulk: tracking thousands of outbox rows per transaction and saving them through EF (one statement
/// each, parameters bound by a search of the whole batch's names on SQLite) cost more than the scores they announce.
/// The statement is <see cref="BulkStatement"/>'s, with a RETURNING tail: on SQLite one prepared single-row INSERT stepped
/// per row (in-process, no round trip); on PostgreSQL one statement for all of them, one array per column.
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

        // Every column but the sequence, which the store numbers (the relay's order and its "sent" marks go by it): read
        // back with the message id to match it to its row. SentAt and LastError go in null, Attempts 0, as Publish adds them.
        var statement = BulkStatement.For<OutboxMessage>(db, generatedColumns: false, storeKey: true);
        var messageId = statement.Columns.Single(c => c.Property.Name == nameof(OutboxMessage.MessageId)).Name;
        var returning = $" RETURNING {statement.KeyNames[0]}, {messageId}";

        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.Transaction = transaction.GetDbTransaction();
        command.CommandTimeout = db.Database.GetCommandTimeout() ?? command.CommandTimeout;
        var byId = rows.ToDictionary(r => r.MessageId);
        if (db.Database.IsSqlite())
        {
            statement.StepEach(command, returning, rows, ct, reader => ReadSequence(reader, byId));
        }
        else
        {
            statement.Unnest(command, returning, rows);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                ReadSequence(reader, byId);
            }
        }
        OutboxSaveInterceptor.Written(db, rows);
    }

    private static void ReadSequence(DbDataReader reader, Dictionary<Guid, OutboxMessage> byId)
    {
        var id = reader.GetValue(1) is Guid guid ? guid : Guid.Parse(reader.GetString(1));
        byId[id].Sequence = reader.GetInt64(0);
    }
}
