using Beacon.Notifications.Domain;

namespace Beacon.Notifications.Tests;

/// <summary>
/// The live feed waits for its next entry or a heartbeat. An entry that comes first must let go of the heartbeat's timer
/// (and its registration on the stream's token): left to run out, every entry kept one for the whole heartbeat period,
/// a few hundred at once in Notifications' heap dumps under the mixed-signal bench (bench/RESULTS.md).
/// </summary>
public sealed class FeedHeartbeatTests
{
    [Fact]
    public async Task An_entry_before_the_heartbeat_leaves_no_timer_behind()
    {
        var clock = new CountingClock();
        for (var i = 0; i < 20; i++)
        {
            Assert.True(await FeedBroadcaster.NextBeforeAsync(Task.FromResult(true), TimeSpan.FromMinutes(1), clock, CancellationToken.None));
        }
        Assert.Equal(20, clock.Created);
        Assert.Equal(0, clock.Live);
    }

    [Fact]
    public async Task A_quiet_stream_gets_its_heartbeat_and_a_closed_one_stops_waiting()
    {
        var clock = new CountingClock();
        var never = new TaskCompletionSource<bool>();
        Assert.False(await FeedBroadcaster.NextBeforeAsync(never.Task, TimeSpan.FromMilliseconds(50), clock, CancellationToken.None));

        using var closed = new CancellationTokenSource();
        var waiting = FeedBroadcaster.NextBeforeAsync(never.Task, TimeSpan.FromMinutes(1), clock, closed.Token);
        await closed.CancelAsync();
        Assert.False(await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, clock.Live);
    }

    /// <summary>The system's timers, counted: how many were made and how many have neither fired nor been disposed.</summary>
    private sealed class CountingClock : TimeProvider
    {
        private int _created, _live;

        public int Created => Volatile.Read(ref _created);
        public int Live => Volatile.Read(ref _live);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Interlocked.Increment(ref _created);
            Interlocked.Increment(ref _live);
            var counted = new Counted(this);
            counted.Inner = System.CreateTimer(s =>
            {
                counted.Release();
                callback(s);
            }, state, dueTime, period);
            return counted;
        }

        private sealed class Counted(CountingClock owner) : ITimer
        {
            private int _released;

            public ITimer Inner { get; set; } = null!;

            public void Release()
            {
                if (Interlocked.Exchange(ref _released, 1) == 0)
                {
                    Interlocked.Decrement(ref owner._live);
                }
            }

            public bool Change(TimeSpan dueTime, TimeSpan period) => Inner.Change(dueTime, period);

            public void Dispose()
            {
                Release();
                Inner.Dispose();
            }

            public ValueTask DisposeAsync()
            {
                Release();
                return Inner.DisposeAsync();
            }
        }
    }
}
