using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;

namespace Beacon.EarlyWarning.Storage;

/// <summary>
/// Early warning's name for the shared upsert (<see cref="BulkInsert.InsertOrUpdateAsync"/>): scores, snapshots and
/// attendance packs are rewritten in bulk, each row stored exactly as SaveChanges would store it, in the context's
/// current transaction with the caller's outbox rows.
/// </summary>
public static class BulkWrites
{
    public static Task<int> UpsertAsync<T>(this DbContext db, IReadOnlyList<T> rows, CancellationToken ct)
        where T : class => db.InsertOrUpdateAsync(rows, ct);
}
