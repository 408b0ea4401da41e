using System.Collections.Concurrent;
using Beacon.Contracts.Events;
using MassTransit;

namespace Beacon.Mastery.Tests;

/// <summary>
/// A listener of our own on the real broker: the MasteryChanged events other services would receive, from this
/// test's Mastery host only (other hosts, of test classes running at the same time, receive the same answers
/// through the shared exchange and publish their own).
/// </summary>
public sealed class MasteryChangedListener : IAsyncDisposable
{
    private readonly ConcurrentQueue<MasteryChanged> _changes = new();
    private HostReceiveEndpointHandle? _handle;

    public IReadOnlyCollection<MasteryChanged> Changes => _changes;

    public static async Task<MasteryChangedListener> StartAsync(IBus bus)
    {
        var listener = new MasteryChangedListener();
        listener._handle = bus.ConnectReceiveEndpoint(new TemporaryEndpointDefinition(), KebabCaseEndpointNameFormatter.Instance,
            e => e.Handler<MasteryChanged>(ctx =>
            {
                if (ctx.SourceAddress == bus.Address)
                {
                    listener._changes.Enqueue(ctx.Message);
                }
                return Task.CompletedTask;
            }));
        await listener._handle.Ready;
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
