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
/// </summary>
public sealed class FakeDaprSidecar : IAsyncDisposable
{
    private readonly WebApplication _app;

    public ConcurrentQueue<InvokeBindingRequest> Requests { get; } = new();
    public string Endpoint { get; }

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
            sidecar.Requests.Enqueue(InvokeBindingRequest.Parser.ParseFrom(frame, 5, length));

            context.Response.ContentType = "application/grpc";
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
