using MassTransit;

namespace Beacon.Testing;

public static class BusObserver
{
    /// <summary>
    /// A listener of the test's own on a service's bus: a temporary queue (deleted when it stops) bound to the
    /// exchange of <typeparamref name="TMessage"/> in the service's bus scope, handing each message to
    /// <paramref name="handle"/>. Ready when returned; stop it with the handle.
    /// </summary>
    public static async Task<HostReceiveEndpointHandle> ObserveAsync<TMessage>(this IBus bus, Action<ConsumeContext<TMessage>> handle)
        where TMessage : class
    {
        var observer = bus.ConnectReceiveEndpoint(new TemporaryEndpointDefinition(), KebabCaseEndpointNameFormatter.Instance,
            e => e.Handler<TMessage>(ctx =>
            {
                handle(ctx);
                return Task.CompletedTask;
            }));
        await observer.Ready;
        return observer;
    }
}
