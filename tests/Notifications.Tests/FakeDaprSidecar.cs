using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Beacon.Notifications.Tests;

/// <summary>
/// The part of the Dapr runtime gRPC API that Notifications uses (dapr.proto.runtime.v1.Dapr/InvokeBinding),
/// served by Kestrel over HTTP/2 on loopback with the real Dapr protobuf messages. No live sidecar runs here.
/// It can be told to fail some calls the way the runtime does when a binding's provider errs: gRPC status
/// INTERNAL with the runtime's "error when invoke output binding" message.
/// </summary>
public sealed class FakeDaprSidecar : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<FailureRule> _failures = [];

    /// <summary>Every call received, failed ones included.</summary>
    public ConcurrentQueue<InvokeBindingRequest> Requests { get; } = new();

    /// <summary>The calls answered with success: what the provider would have sent.</summary>
    public ConcurrentQueue<InvokeBindingRequest> Succeeded { get; } = new();
    public string Endpoint { get; }

    private sealed class FailureRule(Func<InvokeBindingRequest, bool> when, int times)
    {
        public Func<InvokeBindingRequest, bool> When { get; } = when;
        public int Left { get; set; } = times;
    }

    /// <summary>The next <paramref name="times"/> calls that match fail (int.MaxValue: every one).</summary>
    public void Fail(Func<InvokeBindingRequest, bool> when, int times)
    {
        lock (_failures)
        {
            _failures.Add(new FailureRule(when, times));
        }
    }

    private bool ShouldFail(InvokeBindingRequest request)
    {
        lock (_failures)
        {
            var rule = _failures.FirstOrDefault(r => r.Left > 0 && r.When(request));
            if (rule is null)
            {
                return false;
            }
            rule.Left--;
            return true;
        }
    }

    private FakeDaprSidecar(WebApplication app, string endpoint)
    {
        _app = app;
        Endpoint = endpoint;
    }

    public static async Task<FakeDaprSidecar> StartAsync()
    {
        var port = TestSmtpServer.FreePort();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = Beacon.Testing.TestEnvironment.NewTempDirectory("dapr-sidecar") });
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, o => o.Protocols = HttpProtocols.Http2));
        var app = builder.Build();
        var sidecar = new FakeDaprSidecar(app, $"http://127.0.0.1:{port}");
        app.MapPost("/dapr.proto.runtime.v1.Dapr/InvokeBinding", async (HttpContext context) =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            var frame = buffer.ToArray();
            // gRPC framing: 1 byte compressed flag, 4 bytes big-endian length, then the message.
            var length = BinaryPrimitives.ReadInt32BigEndian(frame.AsSpan(1, 4));
            var request = InvokeBindingRequest.Parser.ParseFrom(frame, 5, length);
            sidecar.Requests.Enqueue(request);

            context.Response.ContentType = "application/grpc";
            if (sidecar.ShouldFail(request))
            {
                // No message, only the status in the trailers: what a gRPC server sends for an error.
                await context.Response.StartAsync();
                context.Response.AppendTrailer("grpc-status", "13");
                context.Response.AppendTrailer("grpc-message", $"error when invoke output binding {request.Name}: error from Twilio (503): 503 Service Unavailable");
                return;
            }
            sidecar.Succeeded.Enqueue(request);
            var reply = new InvokeBindingResponse().ToByteArray();
            var header = new byte[5];
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(1), reply.Length);
            await context.Response.Body.WriteAsync(header);
            await context.Response.Body.WriteAsync(reply);
            context.Response.AppendTrailer("grpc-status", "0");
        });
        await app.StartAsync();
        return sidecar;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
