using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace Beacon.Ingestion.Intake;

/// <summary>
/// Reads a row source ahead of its consumer, so a gRPC stream's messages are received and mapped while
/// <see cref="SignalIntake"/> writes the previous chunk: without it nothing reads the stream during a chunk's lookups,
/// bulk insert and commit, and the receiving work is added to the writing instead of done beside it (bench/RESULTS.md,
/// the eighteenth session). Rows come out in the order they went in; at most <paramref name="capacity"/> wait in memory.
/// Only for a source that reports no row errors while it is read: <see cref="RowErrors"/> is not shared across threads
/// (the CSV reader reports unreadable lines as it reads, so CSV uploads are not read ahead).
/// </summary>
public static class ReadAhead
{
    // Rows are handed over in small batches: one hand-over per row would cost more than the mapping it moves.
    private const int Batch = 250;

    public static async IAsyncEnumerable<T> Buffered<T>(IAsyncEnumerable<T> source, int capacity, [EnumeratorCancellation] CancellationToken ct)
    {
        var channel = Channel.CreateBounded<List<T>>(new BoundedChannelOptions(Math.Max(1, capacity / Batch))
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        ExceptionDispatchInfo? failure = null;
        var reader = Task.Run(async () =>
        {
            var batch = new List<T>(Batch);
            try
            {
                await foreach (var item in source.WithCancellation(stop.Token))
                {
                    batch.Add(item);
                    if (batch.Count == Batch)
                    {
                        await channel.Writer.WriteAsync(batch, stop.Token);
                        batch = new List<T>(Batch);
                    }
                }
            }
            catch (Exception e)
            {
                // Surfaces to the consumer once it has taken the rows read before (as reading in line would have).
                failure = ExceptionDispatchInfo.Capture(e);
            }
            try
            {
                if (batch.Count > 0)
                {
                    await channel.Writer.WriteAsync(batch, stop.Token);
                }
            }
            catch (OperationCanceledException)
            {
                // The consumer has stopped: nobody takes these rows.
            }
            finally
            {
                channel.Writer.TryComplete();
            }
        }, CancellationToken.None);
        try
        {
            while (await channel.Reader.WaitToReadAsync(ct))
            {
                while (channel.Reader.TryRead(out var batch))
                {
                    foreach (var item in batch)
                    {
                        yield return item;
                    }
                }
            }
            await reader;
            failure?.Throw();
        }
        finally
        {
            // The consumer stopped early (an error while writing, or cancelled): stop reading and wait, so nothing reads
            // the source after the call has ended.
            await stop.CancelAsync();
            await reader;
        }
    }
}
