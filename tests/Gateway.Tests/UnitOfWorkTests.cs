using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Gateway.Tests;

/// <summary>
/// <see cref="UnitOfWork"/>: rows written around the change tracker inside a unit of work commit with its next save, even a save
/// with nothing tracked, and roll back when the context is disposed unsaved; a transaction its owner opened is left to its owner.
/// </summary>
public sealed class UnitOfWorkTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("beacon-uow-");

    private sealed class Row
    {
        public required string Id { get; set; }
        public int Value { get; set; }
    }

    private sealed class Db(DbContextOptions<Db> options) : DbContext(options)
    {
        public DbSet<Row> Rows => Set<Row>();
    }

    private string ConnectionString => $"Data Source={Path.Combine(_folder.FullName, "uow.db")}";

    private Db Context() => new((DbContextOptions<Db>)new DbContextOptionsBuilder<Db>().UseServiceDatabase(ConnectionString).Options);

    private async Task<Dictionary<string, int>> StoredAsync()
    {
        await using var db = Context();
        return await db.Rows.AsNoTracking().ToDictionaryAsync(r => r.Id, r => r.Value);
    }

    public UnitOfWorkTests()
    {
        using var db = Context();
        db.Database.EnsureCreated();
    }

    [Fact]
    public async Task Bulk_rows_commit_with_the_next_save_even_when_nothing_is_tracked()
    {
        await using (var db = Context())
        {
            await db.BeginUnitOfWorkAsync(CancellationToken.None);
            await db.InsertOrUpdateAsync([new Row { Id = "a", Value = 1 }, new Row { Id = "b", Value = 2 }], CancellationToken.None);
            Assert.Equal(0, await db.SaveChangesAsync());
            Assert.Null(db.Database.CurrentTransaction);
        }
        Assert.Equal(new Dictionary<string, int> { ["a"] = 1, ["b"] = 2 }, await StoredAsync());

        // And with tracked rows beside them, saved synchronously.
        await using (var db = Context())
        {
            await db.BeginUnitOfWorkAsync(CancellationToken.None);
            await db.InsertOrUpdateAsync([new Row { Id = "a", Value = 10 }], CancellationToken.None);
            db.Rows.Add(new Row { Id = "c", Value = 3 });
            Assert.Equal(1, db.SaveChanges());
            Assert.Null(db.Database.CurrentTransaction);
        }
        Assert.Equal(new Dictionary<string, int> { ["a"] = 10, ["b"] = 2, ["c"] = 3 }, await StoredAsync());
    }

    [Fact]
    public async Task A_unit_of_work_disposed_unsaved_or_failing_to_save_leaves_nothing()
    {
        await using (var db = Context())
        {
            await db.BeginUnitOfWorkAsync(CancellationToken.None);
            await db.InsertOrUpdateAsync([new Row { Id = "a", Value = 1 }], CancellationToken.None);
        }
        Assert.Empty(await StoredAsync());

        await using (var db = Context())
        {
            db.Rows.Add(new Row { Id = "taken", Value = 0 });
            await db.SaveChangesAsync();
        }
        await using (var db = Context())
        {
            await db.BeginUnitOfWorkAsync(CancellationToken.None);
            await db.InsertOrUpdateAsync([new Row { Id = "b", Value = 2 }], CancellationToken.None);
            db.Rows.Add(new Row { Id = "taken", Value = 1 });   // a key violation: the save fails
            await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
            Assert.Null(db.Database.CurrentTransaction);   // rolled back at the failure, not left open for a retry to write into
        }
        Assert.Equal(new Dictionary<string, int> { ["taken"] = 0 }, await StoredAsync());
    }

    [Fact]
    public async Task A_transaction_its_owner_opened_is_not_committed_by_a_save()
    {
        await using (var db = Context())
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            await db.BeginUnitOfWorkAsync(CancellationToken.None);   // joins the owner's transaction
            db.Rows.Add(new Row { Id = "a", Value = 1 });
            await db.SaveChangesAsync();
            Assert.Same(transaction, db.Database.CurrentTransaction);
            await transaction.RollbackAsync();
        }
        Assert.Empty(await StoredAsync());
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearPool(new Microsoft.Data.Sqlite.SqliteConnection(ConnectionString));
        _folder.Delete(recursive: true);
    }
}
