using Beacon.Contracts.Events;
using Beacon.Ingestion.Domain;
using Beacon.Ingestion.Storage;
using Beacon.Messaging;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// The shared outbox (Beacon.Messaging) under the retry every batch writer does: a save that fails inside a
/// transaction is rolled back, the context cleared and the work done again. Only the events of the save that
/// stored them may leave; the failed attempt's events were never written and must never be published.
/// </summary>
public sealed class OutboxRetryTests : IAsyncLifetime
{
    private readonly ServiceFactory<Program> _service = new();
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _heard = new();
    private HostReceiveEndpointHandle _observer = null!;

    public async Task InitializeAsync()
    {
        await _service.WaitUntilReadyAsync();
        var bus = _service.Services.GetRequiredService<IBus>();
        _observer = await bus.ObserveAsync<StaffLeft>(ctx => _heard.Enqueue(ctx.Message.StaffId));
    }

    public async Task DisposeAsync()
    {
        await _observer.StopAsync();
        await _service.DisposeAsync();
    }

    private async Task SaveInTransactionAsync(IngestionDbContext db)
    {
        await using var transaction = await db.Database.BeginTransactionAsync();
        await db.SaveChangesAsync();
        await transaction.CommitAsync();
    }

    [Fact]
    public async Task A_save_that_failed_and_was_retried_publishes_only_what_the_retry_stored()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        await using var scope = _service.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IngestionDbContext>();
        db.Add(new School { SchoolId = $"sch-{run}", Name = "Taken" });
        db.Publish(new StaffLeft($"warm-{run}", $"sch-{run}", "teacher", "test", DateTimeOffset.UtcNow));
        await SaveInTransactionAsync(db);
        // The relay is publishing from memory once the first event arrived.
        await Eventually.WaitAsync(() => Task.FromResult(_heard.ToArray()), h => h.Contains($"warm-{run}"), TimeSpan.FromSeconds(30));
        db.ChangeTracker.Clear();

        // First attempt: the event and a school that already exists (a unique key violation), in one transaction.
        await using (var transaction = await db.Database.BeginTransactionAsync())
        {
            db.Publish(new StaffLeft($"failed-{run}", $"sch-{run}", "teacher", "test", DateTimeOffset.UtcNow));
            db.Add(new School { SchoolId = $"sch-{run}", Name = "Duplicate" });
            await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
            await transaction.RollbackAsync();
        }
        db.ChangeTracker.Clear();

        // The retry does the work again, without the duplicate.
        db.Publish(new StaffLeft($"retried-{run}", $"sch-{run}", "teacher", "test", DateTimeOffset.UtcNow));
        await SaveInTransactionAsync(db);

        var heard = await Eventually.WaitAsync(() => Task.FromResult(_heard.ToArray()), h => h.Contains($"retried-{run}"), TimeSpan.FromSeconds(30));
        Assert.Contains($"retried-{run}", heard);
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.DoesNotContain($"failed-{run}", _heard);
        var stored = await _service.WithDbAsync<IngestionDbContext, List<string>>(d => d.Set<OutboxMessage>().Where(m => m.Body.Contains(run)).Select(m => m.Body).ToListAsync());
        Assert.Equal(2, stored.Count);
        Assert.DoesNotContain(stored, b => b.Contains($"failed-{run}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_failed_save_retried_on_the_same_context_publishes_its_events_once()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        await using var scope = _service.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IngestionDbContext>();
        db.Add(new School { SchoolId = $"sch-{run}", Name = "Taken" });
        await db.SaveChangesAsync();
        db.ChangeTracker.Clear();

        // The event and a duplicate fail together; the caller removes the duplicate and saves the same event again.
        db.Publish(new StaffLeft($"kept-{run}", $"sch-{run}", "teacher", "test", DateTimeOffset.UtcNow));
        var duplicate = new School { SchoolId = $"sch-{run}", Name = "Duplicate" };
        db.Add(duplicate);
        await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
        db.Entry(duplicate).State = EntityState.Detached;
        await db.SaveChangesAsync();

        await Eventually.WaitAsync(() => Task.FromResult(_heard.ToArray()), h => h.Contains($"kept-{run}"), TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Single(_heard, id => id == $"kept-{run}");
    }

    [Fact]
    public async Task Events_written_in_bulk_leave_with_their_commit_never_from_a_transaction_dropped_unfinished()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        StaffLeft Left(string name) => new($"{name}-{run}", $"sch-{run}", "teacher", "test", DateTimeOffset.UtcNow);
        await using var scope = _service.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IngestionDbContext>();

        // Written, then the transaction disposed with neither commit nor rollback (a retry loop's `await using` when a later
        // statement throws): no interceptor hears of its end.
        await using (await db.Database.BeginTransactionAsync())
        {
            await db.PublishAllAsync([Left("dropped")], default);
        }
        // The retry writes its own in a new transaction and commits.
        await using (var transaction = await db.Database.BeginTransactionAsync())
        {
            await db.PublishAllAsync([Left("bulk-a"), Left("bulk-b")], default);
            await transaction.CommitAsync();
        }

        var heard = await Eventually.WaitAsync(() => Task.FromResult(_heard.ToArray()), h => h.Contains($"bulk-a-{run}") && h.Contains($"bulk-b-{run}"), TimeSpan.FromSeconds(30));
        Assert.Contains($"bulk-b-{run}", heard);
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.DoesNotContain($"dropped-{run}", _heard);
        Assert.Single(_heard, id => id == $"bulk-a-{run}");
        var stored = await _service.WithDbAsync<IngestionDbContext, List<OutboxMessage>>(d => d.Set<OutboxMessage>().AsNoTracking().Where(m => m.Body.Contains(run)).ToListAsync());
        Assert.Equal(new[] { $"bulk-a-{run}", $"bulk-b-{run}" }, stored.OrderBy(m => m.Sequence).Select(m => ((StaffLeft)m.ToEvent().Message).StaffId));
    }
}
