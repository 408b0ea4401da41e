using System.Runtime.CompilerServices;
using Beacon.Ingestion.Intake;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// <see cref="ReadAhead"/>, which reads a gRPC feed's messages while the previous chunk is written: every row once, in
/// order; the source's failure after the rows read before it; reading stopped when the consumer stops; a bounded lead.
/// </summary>
public sealed class ReadAheadTests
{
    private static async IAsyncEnumerable<int> Source(int count, int? failAt, Action<int> onRead, [EnumeratorCancellation] CancellationToken ct = default)
    {
        for (var i = 0; i < count; i++)
        {
            ct.ThrowIfCancellationRequested();
            if (i == failAt)
            {
                throw new IOException($"the client went away at {i}");
            }
            onRead(i);
            await Task.Yield();
            yield return i;
        }
    }

    [Fact]
    public async Task Rows_come_out_once_each_in_order_across_many_hand_overs()
    {
        var read = new List<int>();
        await foreach (var _ in ReadAhead.Buffered(Source(0, null, read.Add), 2000, CancellationToken.None))
        {
            Assert.Fail("an empty source yields nothing");
        }
        var rows = new List<int>();
        await foreach (var row in ReadAhead.Buffered(Source(10_007, null, read.Add), 2000, CancellationToken.None))
        {
            rows.Add(row);
        }
        Assert.Equal(Enumerable.Range(0, 10_007), rows);
        Assert.Equal(Enumerable.Range(0, 10_007), read);
    }

    [Fact]
    public async Task A_failing_source_fails_the_consumer_after_the_rows_read_before_it()
    {
        var rows = new List<int>();
        var error = await Assert.ThrowsAsync<IOException>(async () =>
        {
            await foreach (var row in ReadAhead.Buffered(Source(5000, 1234, _ => { }), 2000, CancellationToken.None))
            {
                rows.Add(row);
            }
        });
        Assert.Equal("the client went away at 1234", error.Message);
        Assert.Equal(Enumerable.Range(0, 1234), rows);
    }

    [Fact]
    public async Task The_source_is_read_at_most_the_capacity_ahead_and_no_more_once_the_consumer_stops()
    {
        var read = 0;
        var reads = new List<int>();
        await using (var rows = ReadAhead.Buffered(Source(100_000, null, _ => Interlocked.Increment(ref read)), 1000, CancellationToken.None).GetAsyncEnumerator())
        {
            for (var i = 0; i < 10; i++)
            {
                Assert.True(await rows.MoveNextAsync());
                Assert.Equal(i, rows.Current);
            }
            // The reader fills what it may hold and waits: the consumer's batch of 250, four in the channel (1,000 rows), one
            // in hand waiting for room. Polled until it stops growing (a loaded machine may take a while to get there).
            var deadline = DateTime.UtcNow.AddSeconds(20);
            reads.Add(Volatile.Read(ref read));
            while (DateTime.UtcNow < deadline && (reads.Count < 3 || reads[^1] != reads[^3] || reads[^1] < 1000))
            {
                await Task.Delay(200);
                reads.Add(Volatile.Read(ref read));
            }
        }
        var atStop = Volatile.Read(ref read);
        await Task.Delay(300);
        Assert.InRange(reads[^1], 1000, 1500);
        Assert.InRange(atStop, reads[^1], 1500);
        Assert.Equal(atStop, Volatile.Read(ref read));
    }
}
