extern alias GatewayApp;
extern alias InterventionsApp;
extern alias NotificationsApp;

using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Beacon.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Beacon.Security.Tests;

/// <summary>Every line every logger of an app wrote, as the providers received it (after Beacon's redaction).</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, Lines);

    public void Dispose()
    {
    }

    public string All() => string.Join('\n', Lines);

    private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            // The message, the structured values (JSON consoles and exporters print those) and the exception.
            var values = state is IEnumerable<KeyValuePair<string, object?>> kvs ? string.Join(" ", kvs.Select(kv => $"{kv.Key}={kv.Value}")) : "";
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} | {values} | {exception}");
        }
    }
}

/// <summary>A service factory whose logs are captured at Debug level for every category, the framework's included.</summary>
public sealed class LoggedFactory<TProgram>(CapturedLogs logs) : ServiceFactory<TProgram>
    where TProgram : class
{
    protected override void ConfigureTestServices(IServiceCollection services) => services.AddSingleton<ILoggerProvider>(logs);
}

/// <summary>A real receiver (Kestrel on localhost, so on 127.0.0.1 and ::1) for webhooks and a redirect.</summary>
public sealed class Receiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    public ConcurrentQueue<string> Hooks { get; } = new();
    public int Port { get; }

    private Receiver(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public static async Task<Receiver> StartAsync()
    {
        var port = SecurityPlatform.FreePort();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = TestEnvironment.NewTempDirectory("security-receiver") });
        builder.WebHost.UseUrls($"http://localhost:{port}");
        var app = builder.Build();
        var receiver = new Receiver(app, port);
        app.MapPost("/hook", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            receiver.Hooks.Enqueue(await reader.ReadToEndAsync());
            return Results.Ok();
        });
        app.MapPost("/redirect", () => Results.Redirect("/hook", permanent: false, preserveMethod: true));
        await app.StartAsync();
        return receiver;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

/// <summary>
/// Answers every connection with a 500 and a 64 MiB body on a raw socket, counting the bytes the socket accepted
/// until the client hangs up (a Kestrel app cannot tell: it ignores writes once the client is gone).
/// </summary>
public sealed class HugeAnswerServer : IAsyncDisposable
{
    public const int HugeBytes = 64 * 1024 * 1024;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private long _sent;

    public HugeAnswerServer()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = Task.Run(AcceptAsync);
    }

    public int Port { get; }
    public long BytesSent => Interlocked.Read(ref _sent);

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = Task.Run(() => ServeAsync(client));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        try
        {
            // The request's head; its small body stays in the socket buffer.
            var head = new byte[16 * 1024];
            var read = 0;
            while (read < head.Length && !Encoding.ASCII.GetString(head, 0, read).Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var n = await stream.ReadAsync(head.AsMemory(read), _stop.Token);
                if (n == 0)
                {
                    return;
                }
                read += n;
            }
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: {HugeBytes}\r\n\r\n"), _stop.Token);
            var chunk = new byte[64 * 1024];
            Array.Fill(chunk, (byte)'x');
            for (var sent = 0; sent < HugeBytes; sent += chunk.Length)
            {
                await stream.WriteAsync(chunk, _stop.Token);
                Interlocked.Add(ref _sent, chunk.Length);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
        {
            // The client hung up after reading its small limit: that is the point.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
    }
}

/// <summary>
/// The gateway (in memory) in front of a real Notifications and a real Interventions on their own loopback ports (so
/// a probe can also go around the gateway), a second Notifications with the production webhook rules, and a receiver.
/// Logs of the gateway and both proxied services are captured.
/// </summary>
public sealed class SecurityPlatform : IAsyncLifetime
{
    public CapturedLogs Logs { get; } = new();
    public Receiver Receiver { get; private set; } = null!;
    public HugeAnswerServer Huge { get; } = new();
    public LoggedFactory<NotificationsApp::Program> Notifications { get; private set; } = null!;
    public LoggedFactory<InterventionsApp::Program> Interventions { get; private set; } = null!;
    public LoggedFactory<GatewayApp::Program> Gateway { get; private set; } = null!;

    /// <summary>Notifications as deployed: https only, nothing allow-listed.</summary>
    public ServiceFactory<NotificationsApp::Program> Strict { get; private set; } = null!;

    public Uri NotificationsPort { get; private set; } = null!;
    public Uri InterventionsPort { get; private set; } = null!;
    public const int PerUserPerMinute = 3;

    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static Dictionary<string, string?> OnPorts(out Uri http)
    {
        http = new Uri($"http://127.0.0.1:{FreePort()}/");
        return new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:Http:Url"] = http.ToString().TrimEnd('/'),
            ["Kestrel:Endpoints:Grpc:Url"] = $"http://127.0.0.1:{FreePort()}",
            // Every category at Debug: the framework's request lines carry URLs with their query strings.
            ["Logging:LogLevel:Default"] = "Debug",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Debug",
            ["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "Information",
            ["Logging:LogLevel:Yarp"] = "Debug",
            ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Debug",
        };
    }

    public async Task InitializeAsync()
    {
        Receiver = await Receiver.StartAsync();
        var notifications = OnPorts(out var notificationsPort);
        NotificationsPort = notificationsPort;
        // The local receiver is reached as 127.0.0.1 (allow-listed, as an administrator would) or as localhost (not).
        notifications["Notifications:Webhooks:AllowHttp"] = "true";
        notifications["Notifications:Webhooks:AllowedHosts:0"] = "127.0.0.1";
        notifications["Notifications:Webhooks:PerUserPerMinute"] = PerUserPerMinute.ToString();
        notifications["Notifications:InCallRetries"] = "1";
        notifications["Notifications:WebhookTimeout"] = "00:00:20";
        Notifications = new LoggedFactory<NotificationsApp::Program>(Logs) { Settings = notifications };
        Notifications.UseKestrel();
        Notifications.StartServer();

        var interventions = OnPorts(out var interventionsPort);
        InterventionsPort = interventionsPort;
        Interventions = new LoggedFactory<InterventionsApp::Program>(Logs) { Settings = interventions, BusScope = Notifications.BusScope };
        Interventions.UseKestrel();
        Interventions.StartServer();

        var gateway = OnPorts(out _);
        gateway["Auth:DevIssuer:Enabled"] = "true";
        gateway["Gateway:RateLimit:PermitsPerSecond"] = "1000";
        gateway["Gateway:RateLimit:Burst"] = "1000";
        gateway["ReverseProxy:Clusters:notifications-http:Destinations:primary:Address"] = NotificationsPort.ToString();
        gateway["ReverseProxy:Clusters:notifications-http:Destinations:primary:Health"] = null;
        gateway["ReverseProxy:Clusters:interventions-http:Destinations:primary:Address"] = InterventionsPort.ToString();
        gateway["ReverseProxy:Clusters:interventions-http:Destinations:primary:Health"] = null;
        Gateway = new LoggedFactory<GatewayApp::Program>(Logs) { Settings = gateway, BusScope = Notifications.BusScope };

        Strict = new ServiceFactory<NotificationsApp::Program>();
        await Notifications.WaitUntilReadyAsync();
        await Interventions.WaitUntilReadyAsync();
        await Strict.WaitUntilReadyAsync();
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Strict.DisposeAsync();
        await Interventions.DisposeAsync();
        await Notifications.DisposeAsync();
        await Receiver.DisposeAsync();
        await Huge.DisposeAsync();
    }
}
