using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Beacon.Testing;

namespace Beacon.Reliability.Tests;

/// <summary>
/// A RabbitMQ node of the test's own (Debian's rabbitmq-server), in a temp folder on free ports, so the
/// test can stop and restart a broker without touching the shared one other tests use. Its data
/// (durable queues, persistent messages) survives a restart, as a real broker's does.
/// </summary>
public sealed class PrivateRabbitMq : IAsyncDisposable
{
    private const string Bin = "/usr/lib/rabbitmq/bin";
    private readonly string _base;
    private bool _running;

    public int Port { get; }
    public int ManagementPort => Port + 1;
    public string NodeName { get; }
    public string Uri => $"amqp://guest:guest@127.0.0.1:{Port}/";

    private PrivateRabbitMq(string baseDirectory, int port)
    {
        _base = baseDirectory;
        Port = port;
        NodeName = $"beaconrel{port}@localhost";
    }

    public static bool Installed => File.Exists(Path.Combine(Bin, "rabbitmq-server"));

    public static async Task<PrivateRabbitMq> StartAsync(string baseDirectory)
    {
        if (!Installed)
        {
            throw new InvalidOperationException($"{Bin}/rabbitmq-server is missing: install Debian's rabbitmq-server (./beacon test does).");
        }
        Directory.CreateDirectory(baseDirectory);
        // The management plugin answers "how many messages are where" over HTTP in milliseconds;
        // rabbitmqctl starts an Erlang VM per call, which takes tens of seconds on a loaded machine.
        await File.WriteAllTextAsync(Path.Combine(baseDirectory, "enabled_plugins"), "[rabbitmq_management].");
        var broker = new PrivateRabbitMq(baseDirectory, FreePort());
        await File.WriteAllTextAsync(Path.Combine(baseDirectory, "rabbitmq.conf"), $"""
            listeners.tcp.1 = 127.0.0.1:{broker.Port}
            management.tcp.port = {broker.ManagementPort}
            management.tcp.ip = 127.0.0.1
            collect_statistics_interval = 500
            """);
        await broker.StartNodeAsync();
        return broker;
    }

    /// <summary>Starts the node (again) with the same data folder and ports, and waits until AMQP and HTTP answer.</summary>
    public async Task StartNodeAsync()
    {
        var start = Command("rabbitmq-server", "-detached");
        // The distribution port goes to the server only: exported to rabbitmqctl, its own Erlang node would take it.
        start.Environment["RABBITMQ_DIST_PORT"] = (Port + 20000).ToString();
        await RunAsync(start, TimeSpan.FromSeconds(60));
        var clock = Stopwatch.StartNew();
        while (!(Answers(Port) && Answers(ManagementPort)))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(120))
            {
                throw new InvalidOperationException($"RabbitMQ node {NodeName} did not start within 120 s; see {_base}/log");
            }
            await Task.Delay(200);
        }
        _running = true;
    }

    /// <summary>
    /// SIGTERM to the node's Erlang VM, which Erlang/OTP turns into a clean stop (init:stop): connections
    /// drop, durable queues and persistent messages stay on disk. Waits until the process is gone.
    /// </summary>
    public async Task StopNodeAsync()
    {
        using var node = Process.GetProcessById(int.Parse((await File.ReadAllTextAsync(PidFile)).Trim()));
        using (var kill = Process.Start("kill", ["-TERM", node.Id.ToString()]))
        {
            await kill.WaitForExitAsync();
        }
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await node.WaitForExitAsync(cts.Token);
        _running = false;
    }

    /// <summary>Every queue with its ready + unacknowledged message count (management API, refreshed every 0.5 s).</summary>
    public async Task<IReadOnlyDictionary<string, long>> QueuesAsync()
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ManagementPort}"), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String("guest:guest"u8.ToArray()));
        var queues = await http.GetFromJsonAsync<JsonElement>("/api/queues?columns=name,messages");
        return queues.EnumerateArray().ToDictionary(q => q.GetProperty("name").GetString()!,
            q => q.TryGetProperty("messages", out var m) && m.ValueKind == JsonValueKind.Number ? m.GetInt64() : 0);
    }

    private string PidFile => Path.Combine(_base, "rabbit.pid");

    private ProcessStartInfo Command(string tool, params string[] args)
    {
        var start = new ProcessStartInfo(Path.Combine(Bin, tool))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["RABBITMQ_MNESIA_BASE"] = Path.Combine(_base, "mnesia");
        start.Environment["RABBITMQ_LOG_BASE"] = Path.Combine(_base, "log");
        start.Environment["RABBITMQ_NODENAME"] = NodeName;
        start.Environment["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1";
        start.Environment["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(_base, "enabled_plugins");
        start.Environment["RABBITMQ_PID_FILE"] = PidFile;
        start.Environment["RABBITMQ_CONFIG_FILE"] = Path.Combine(_base, "rabbitmq");
        return start;
    }

    private static async Task<(int Code, string Output)> RunAsync(ProcessStartInfo start, TimeSpan timeout)
    {
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"{start.FileName} timed out after {timeout}");
        }
        return (process.ExitCode, await stdout + await stderr);
    }

    private static bool Answers(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(System.Net.IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>An AMQP port whose management port (+1) and distribution port (+20000) are free too, clear of rabbitmqctl's 35672–35682.</summary>
    private static int FreePort()
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var port = Random.Shared.Next(11000, 19000);
            var dist = port + 20000;
            if (dist is >= 35672 and <= 35682)
            {
                continue;
            }
            if (Ports.IsFree(port) && Ports.IsFree(port + 1) && Ports.IsFree(dist))
            {
                return port;
            }
        }
        throw new InvalidOperationException("No free port pair for a private RabbitMQ node.");
    }

    public async ValueTask DisposeAsync()
    {
        if (_running)
        {
            await StopNodeAsync();
        }
    }
}
