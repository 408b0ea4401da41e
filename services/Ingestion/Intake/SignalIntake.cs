using System.Text.Json;
using Beacon.Ingestion.Apis;
using Beacon.Ingestion.Domain;
using Beacon.Ingestion.Storage;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Intake;

/// <summary>
/// Who sent a batch and under which id (Idempotency-Key header or ?batchId=). RecordedAt: a backfill of past years says
/// when the source system recorded the batch (?recordedAt=), so its events carry that time and training sets "as known
/// then" see the records as they were known then, not as all arriving on the day of the backfill. Null: now.
/// </summary>
public sealed record BatchContext(string BatchId, string Source, DateTimeOffset? RecordedAt = null);

/// <summary>
/// Runs a batch through a processor a chunk at a time: each chunk's valid rows, their events and its
/// rejected rows (into the quarantine) are saved in one transaction, so memory stays bounded for any
/// file size and nothing valid is lost when other rows are bad. A batch id seen before returns the
/// first answer without touching anything.
/// </summary>
public sealed class SignalIntake(IngestionDbContext db, TimeProvider clock)
{
    public const int ChunkSize = 2000;

    public async Task<IResult?> AlreadySeenAsync(BatchContext batch, CancellationToken ct) =>
        await FindAsync(batch.BatchId, ct) is { } seen ? Results.Ok(seen) : null;

    /// <summary>The receipt of a batch already received under this id, or null.</summary>
    public async Task<BatchSummary?> FindAsync(string batchId, CancellationToken ct)
    {
        var seen = await db.Batches.AsNoTracking().FirstOrDefaultAsync(b => b.BatchId == batchId, ct);
        return seen is null
            ? null
            : new BatchSummary(seen.BatchId, seen.Kind, seen.Source, seen.Received, seen.Accepted, seen.Unchanged, seen.Corrected, seen.Rejected, Replayed: true);
    }

    public async Task<IResult> IngestAsync<TRow>(ISignalProcessor<TRow> processor, IAsyncEnumerable<Positioned<TRow>> rows, RowErrors errors,
        BatchContext batch, CancellationToken ct)
    {
        if (await AlreadySeenAsync(batch, ct) is { } answer)
        {
            return answer;
        }
        var summary = await RunAsync(processor, rows, errors, batch, quarantine: true, ct);
        return errors.Any ? RejectedRows(errors, summary) : Results.Ok(summary);
    }

    /// <summary>Processes the rows and records the batch; rejected rows are quarantined unless told otherwise.</summary>
    public async Task<BatchSummary> RunAsync<TRow>(ISignalProcessor<TRow> processor, IAsyncEnumerable<Positioned<TRow>> rows, RowErrors errors,
        BatchContext batch, bool quarantine, CancellationToken ct)
    {
        var received = clock.GetUtcNow();
        // The records' time (their events' OccurredAt): when the source recorded them, for a backfill; else now.
        var now = batch.RecordedAt ?? received;
        int accepted = 0, unchanged = 0, corrected = 0, late = 0;
        var chunk = new List<Positioned<TRow>>(ChunkSize);

        // Another batch may store one of this chunk's new keys between our look and our insert. Nothing of the chunk is
        // stored then (its rows, events and quarantine commit together), so it is processed again and finds that key
        // stored: unchanged, or a correction, as if the batches had come one after the other. Inside a caller's
        // transaction (xAPI) the caller owns the retry.
        async Task FlushAsync()
        {
            var mark = errors.Mark();
            var counts = await UniqueViolation.RetryAsync(db, $"this {processor.Kind} chunk", async () =>
            {
                var counts = await processor.ProcessAsync(chunk, errors, db, now, ct);
                var rejected = errors.TakePending();
                if (quarantine)
                {
                    Quarantine(processor.Kind, batch, rejected, received);
                }
                await SaveAsync(processor, ct);
                return counts;
            }, () => errors.RollBack(mark));
            (accepted, unchanged, corrected, late) = (accepted + counts.Accepted, unchanged + counts.Unchanged, corrected + counts.Corrected, late + counts.Late);
            db.ChangeTracker.Clear();
            chunk.Clear();
        }

        await foreach (var row in rows.WithCancellation(ct))
        {
            chunk.Add(row);
            if (chunk.Count == ChunkSize)
            {
                await FlushAsync();
            }
        }
        await FlushAsync();

        var summary = new BatchSummary(batch.BatchId, processor.Kind, batch.Source, accepted + unchanged + corrected + errors.RejectedRows,
            accepted, unchanged, corrected, errors.RejectedRows);
        db.Batches.Add(new IngestionBatch
        {
            BatchId = batch.BatchId,
            Kind = processor.Kind,
            Source = batch.Source,
            Day = DateOnly.FromDateTime(received.UtcDateTime),
            ReceivedAt = received,
            Received = summary.Received,
            Accepted = accepted,
            Unchanged = unchanged,
            Corrected = corrected,
            Rejected = summary.Rejected,
            Late = late,
            RejectedByField = JsonSerializer.Serialize(errors.CountByField()),
        });
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            db.ChangeTracker.Clear();
            // The same batch id arrived twice at once; its rows were de-duplicated by their natural keys.
            if (!await db.Batches.AsNoTracking().AnyAsync(b => b.BatchId == batch.BatchId, ct))
            {
                throw;
            }
        }
        return summary;
    }

    /// <summary>
    /// Writes a processed chunk: its new rows in bulk (outside the change tracker) and the tracked rest (corrections,
    /// events, quarantine) in one transaction, the caller's if there is one. The transaction starts only now, so the
    /// chunk's reads never hold SQLite's write lock. A key another writer stored first rolls everything back and
    /// surfaces as the DbUpdateException a save would have thrown, so <see cref="UniqueViolation.RetryAsync"/> runs the
    /// chunk again.
    /// </summary>
    private async Task SaveAsync<TRow>(ISignalProcessor<TRow> processor, CancellationToken ct)
    {
        if (db.Database.CurrentTransaction is not null)
        {
            await processor.WriteNewAsync(db, ct);
            await db.SaveChangesAsync(ct);
            return;
        }
        var transaction = await db.Database.BeginTransactionAsync(ct);
        try
        {
            await processor.WriteNewAsync(db, ct);
            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
        }
        catch (Exception e)
        {
            // Rolled back here, before the retry looks: the outbox forgets the chunk's events and no transaction is left open.
            await transaction.RollbackAsync(CancellationToken.None);
            await transaction.DisposeAsync();
            if (e is not DbUpdateException && UniqueViolation.Is(e))
            {
                throw new DbUpdateException($"A {processor.Kind} row of this chunk was stored by another writer first.", e);
            }
            throw;
        }
        await transaction.DisposeAsync();
    }

    public void Quarantine(string kind, BatchContext batch, List<RejectedRow> rejected, DateTimeOffset now)
    {
        foreach (var row in rejected)
        {
            db.Quarantine.Add(new QuarantinedRow
            {
                Kind = kind,
                Source = batch.Source,
                BatchId = batch.BatchId,
                Position = row.Position,
                Raw = row.Raw,
                Errors = string.Join('\n', row.Reasons.Select(r => $"{r.Field}: {r.Reason}")),
                ReceivedAt = now,
            });
        }
    }

    /// <summary>400 naming every rejected row (the first 1,000); the valid rows of the batch have been stored.</summary>
    public static IResult RejectedRows(RowErrors errors, BatchSummary summary)
    {
        var extensions = new Dictionary<string, object?>
        {
            ["batchId"] = summary.BatchId,
            ["received"] = summary.Received,
            ["accepted"] = summary.Accepted,
            ["unchanged"] = summary.Unchanged,
            ["corrected"] = summary.Corrected,
            ["rejected"] = summary.Rejected,
        };
        if (summary.Files is not null)
        {
            extensions["oneRosterVersion"] = summary.OneRosterVersion;
            extensions["files"] = summary.Files;
        }
        var kept = errors.KeptRows > 0 ? $" ({errors.KeptRows} of them without a field that was wrong, see errors)" : "";
        return Results.ValidationProblem(
            errors.ToProblemErrors(),
            title: $"{summary.Rejected} row(s) rejected; {summary.Accepted + summary.Corrected} valid row(s) stored{kept}",
            detail: "Batches keep their valid rows. Rejected rows are in the quarantine (GET /api/ingestion/v1/quarantine); "
                + "fix and re-submit them there, or send them again in a new batch.",
            extensions: extensions);
    }
}
