using System.Collections.Concurrent;
using Beacon.Contracts.Events;
using Beacon.Testing;
using MassTransit;

namespace Beacon.Mastery.Tests;

/// <summary>
/// A listener of our own on the real broker: the MasteryChanged events other services would receive, from this
/// test's Mastery host only (a second host given the same bus scope would publish to the same exchange).
/// </summary>
public sealed class MasteryChangedListener : IAsyncDisposable
{
    private readonly ConcurrentQueue<MasteryChanged> _changes = new();
    private HostReceiveEndpointHandle? _handle;

    public IReadOnlyCollection<MasteryChanged> Changes => _changes;

    public static async Task<MasteryChangedListener> StartAsync(IBus bus)
    {
        var listener = new MasteryChangedListener();
        listener._handle = await bus.ObserveAsync<MasteryChanged>(ctx =>
        {
            if (ctx.SourceAddress == bus.Address)
            {
                listener._changes.Enqueue(ctx.Message);
            }
        });
        return listener;
    }

    public async ValueTask DisposeAsync()
    {
        if (_handle is not null)
        {
            await _handle.StopAsync();
        }
    }
}
