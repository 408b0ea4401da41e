using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Beacon.Messaging;

/// <summary>
/// Publishes the outbox. While it keeps up, it publishes the events handed over in memory right after
/// each commit and marks them sent with one statement per batch, so the intake's single SQLite writer
/// sees one short write per batch instead of a read and a write per event. After a start, a failed
/// publish or an overflow it reads unsent rows from the table, oldest first, until none are left, so
/// one student's events still go out in order; only then does it trust memory again.
/// </summary>
public sealed class OutboxRelay<TContext>(IServiceScopeFactory scopes, IBus bus, OutboxQueue queue, OutboxStatistics statistics, ILogger<OutboxRelay<TContext>> logger)
    : BackgroundService
    where TContext : DbContext
{
    private const int BatchSize = 1000;
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    // A publish whose confirm is lost with its connection can wait forever; the batch is given up after this
    // and its unconfirmed rows go out again from the table (consumers drop the duplicate by message id).
    private static readonly TimeSpan PublishTimeLimit = TimeSpan.FromSeconds(30);

    private bool _caughtUp;

    // Highest sequence a table read published: memory's copies of those rows are skipped.
    private long _tableHighWater;

    // Highest sequence in the table at the last look for strays, and when that was.
    private long _strayWatermark;
    private DateTime _lastStrayCheck = DateTime.UtcNow;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (queue.TakeOverflow())
                {
                    _caughtUp = false;
                }
                if (!_caughtUp)
                {
                    // Everything queued so far is committed, so this read (or the next) covers it.
                    queue.Drain(int.MaxValue);
                    _caughtUp = await PublishPendingAsync(stoppingToken) < BatchSize;
                    continue;
                }
                var committed = queue.Drain(BatchSize);
                if (committed.Count > 0)
                {
                    var fresh = committed.Where(m => m.Sequence > _tableHighWater).OrderBy(m => m.Sequence).ToList();
                    await PublishAndMarkAsync(fresh, stoppingToken);
                    statistics.Published("memory", fresh.Count);
                    continue;
                }
                // Only with memory drained: a stray published now cannot overtake a queued event of its student.
                if (DateTime.UtcNow - _lastStrayCheck > PollInterval)
                {
                    await PublishStraysAsync(stoppingToken);
                }
                await queue.WaitAsync(PollInterval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Broker or database down: the rows stay unsent and are read from the table again; nothing is dropped.
                _caughtUp = false;
                logger.LogWarning(ex, "Outbox relay could not publish; retrying");
                await Task.Delay(PollInterval, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>Publishes up to one batch of unsent rows from the table, oldest first; returns how many it read.</summary>
    public async Task<int> PublishPendingAsync(CancellationToken ct)
    {
        var pending = await ReadUnsentAsync(upTo: long.MaxValue, ct);
        await PublishAndMarkAsync(pending, ct);
        statistics.Published("table", pending.Count);
        if (pending.Count > 0)
        {
            _tableHighWater = Math.Max(_tableHighWater, pending[^1].Sequence);
        }
        return pending.Count;
    }

    /// <summary>
    /// With memory drained, a row that was already in the table at the last look and is still unsent never came
    /// through memory: another replica's, left when it stopped, or (PostgreSQL) one whose transaction committed late.
    /// </summary>
    private async Task PublishStraysAsync(CancellationToken ct)
    {
        _lastStrayCheck = DateTime.UtcNow;
        var strays = await ReadUnsentAsync(upTo: _strayWatermark, ct);
        await using (var scope = scopes.CreateAsyncScope())
        {
            _strayWatermark = await scope.ServiceProvider.GetRequiredService<TContext>().Set<OutboxMessage>().MaxAsync(m => (long?)m.Sequence, ct) ?? 0;
        }
        await PublishAndMarkAsync(strays, ct);
        statistics.Published("stray", strays.Count);
    }

    private async Task<List<OutboxMessage>> ReadUnsentAsync(long upTo, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<TContext>().Set<OutboxMessage>().AsNoTracking()
            .Where(m => m.SentAt == null && m.Sequence <= upTo)
            .OrderBy(m => m.Sequence)
            .Take(BatchSize)
            .ToListAsync(ct);
    }

    private async Task PublishAndMarkAsync(List<OutboxMessage> rows, CancellationToken ct)
    {
        if (rows.Count == 0)
        {
            return;
        }
        var sent = new ConcurrentBag<long>();
        Exception? failure = null;
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        try
        {
            // Pipelined: one student's events go out in order, different students' side by side, so the
            // batch costs a few round trips instead of one per event.
            await Task.WhenAll(rows.GroupBy(OutboxLane.Of).Select(async lane =>
            {
                foreach (var row in lane)
                {
                    var (message, type) = row.Event is { } inMemory ? (inMemory, inMemory.GetType()) : row.ToEvent();
                    await bus.Publish(message, type, ctx => ctx.MessageId = row.MessageId, limit.Token);
                    sent.Add(row.Sequence);
                }
            })).WaitAsync(PublishTimeLimit, ct);
        }
        catch (TimeoutException ex)
        {
            // Not waiting on it any longer: what is confirmed by now is marked, the rest is read again.
            await limit.CancelAsync();
            failure = new TimeoutException($"Outbox publish of {rows.Count} events was not confirmed within {PublishTimeLimit.TotalSeconds:0} s", ex);
        }
        catch (Exception ex)
        {
            failure = ex;
        }
        // One statement for the batch; if some publishes failed, the ones that went out are still marked.
        await using (var scope = scopes.CreateAsyncScope())
        {
            var outbox = scope.ServiceProvider.GetRequiredService<TContext>().Set<OutboxMessage>();
            var ids = sent.ToList();
            var now = DateTimeOffset.UtcNow;
            if (ids.Count > 0)
            {
                await outbox.Where(m => ids.Contains(m.Sequence))
                    .ExecuteUpdateAsync(s => s.SetProperty(m => m.SentAt, now).SetProperty(m => m.Attempts, m => m.Attempts + 1), CancellationToken.None);
            }
            if (failure is not null)
            {
                var failed = rows.Select(r => r.Sequence).Except(ids).ToList();
                var error = failure.GetBaseException().Message;
                await outbox.Where(m => failed.Contains(m.Sequence))
                    .ExecuteUpdateAsync(s => s.SetProperty(m => m.Attempts, m => m.Attempts + 1).SetProperty(m => m.LastError, error), CancellationToken.None);
            }
        }
        if (failure is not null)
        {
            ExceptionDispatchInfo.Throw(failure);
        }
    }
}
