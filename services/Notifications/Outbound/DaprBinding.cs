using Dapr;
using Dapr.Client;
using Grpc.Core;

namespace Beacon.Notifications.Outbound;

/// <summary>
/// Calls a Dapr output binding and, when the sidecar refuses, throws with what it said. The Dapr client wraps every
/// gRPC error in one fixed message ("the Dapr endpoint indicated a failure. See InnerException"), and the dispatcher
/// keeps an exception's message as the delivery's last error: without this a dead letter would not say why.
/// </summary>
public static class DaprBinding
{
    public static async Task InvokeAsync(DaprClient dapr, BindingRequest request, CancellationToken ct)
    {
        try
        {
            await dapr.InvokeBindingAsync(request, ct);
        }
        catch (DaprException ex) when (ex.InnerException is RpcException rpc)
        {
            throw new DaprBindingException($"Dapr binding '{request.BindingName}' ({request.Operation}) failed: {rpc.StatusCode} {rpc.Status.Detail}".TrimEnd(), ex);
        }
    }
}

public sealed class DaprBindingException(string message, Exception inner) : Exception(message, inner);
