using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Storage;

namespace Beacon.ServiceDefaults;

/// <summary>
/// A unit of work whose transaction opens before its save: what is read from then on is read under it (on SQLite its
/// write lock), and rows written around the change tracker (<see cref="BulkInsert"/>) commit or roll back with what the
/// save writes (the inbox record, the outbox). The next SaveChanges commits it, as SaveChanges commits a transaction it
/// opens itself; a failed save, or a context disposed unsaved, rolls it back. Every context made by
/// <see cref="StorageExtensions.UseServiceDatabase"/> has the commit; a transaction opened with
/// <c>Database.BeginTransaction</c> by its owner is not touched.
/// </summary>
public static class UnitOfWork
{
    // The transaction each context opened as its unit of work; held weakly, so a context disposed unsaved is forgotten.
    private static readonly ConditionalWeakTable<DbContext, IDbContextTransaction> Open = new();

    /// <summary>Opens the unit of work's transaction now, unless a transaction is open already.</summary>
    public static async Task BeginUnitOfWorkAsync(this DbContext db, CancellationToken ct)
    {
        if (db.Database.CurrentTransaction is null)
        {
            Open.AddOrUpdate(db, await db.Database.BeginTransactionAsync(ct));
        }
    }

    /// <summary>Commits a context's unit of work once its save has succeeded.</summary>
    internal sealed class CommitOnSave : SaveChangesInterceptor
    {
        public static readonly CommitOnSave Instance = new();

        public override int SavedChanges(SaveChangesCompletedEventData eventData, int result)
        {
            if (Take(eventData.Context) is { } transaction)
            {
                using (transaction)
                {
                    transaction.Commit();
                }
            }
            return result;
        }

        public override async ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
        {
            if (Take(eventData.Context) is { } transaction)
            {
                await using (transaction)
                {
                    await transaction.CommitAsync(cancellationToken);
                }
            }
            return result;
        }

        // A failed or cancelled save rolls the unit of work back now (disposing it), not when the context goes: a caller that
        // tries again on the same context starts a new unit of work instead of writing into the failed one.
        public override void SaveChangesFailed(DbContextErrorEventData eventData) => Take(eventData.Context)?.Dispose();

        public override async Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default)
        {
            if (Take(eventData.Context) is { } transaction)
            {
                await transaction.DisposeAsync();
            }
        }

        public override void SaveChangesCanceled(DbContextEventData eventData) => Take(eventData.Context)?.Dispose();

        public override async Task SaveChangesCanceledAsync(DbContextEventData eventData, CancellationToken cancellationToken = default)
        {
            if (Take(eventData.Context) is { } transaction)
            {
                await transaction.DisposeAsync();
            }
        }

        // Taken off before the commit: a failed commit leaves the context without a unit of work, as a failed save of a
        // transaction SaveChanges opened itself does.
        private static IDbContextTransaction? Take(DbContext? db) =>
            db is not null && Open.TryGetValue(db, out var transaction) && Open.Remove(db) ? transaction : null;
    }
}
