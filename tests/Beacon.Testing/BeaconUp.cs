using System.Diagnostics;
using System.Text;

namespace Beacon.Testing;

/// <summary>
/// The whole platform as real processes, started the way a user starts it (./beacon up), with or without
/// its demo load (a trained, active model and the simulator's district), on free ports and a fresh data
/// folder, against the test broker. Ready when ./beacon up prints its banner, which comes after the gateway
/// answers ready and after the demo load. Disposing kills the whole process tree, whether the test passed or not.
/// </summary>
public sealed class BeaconUp : IAsyncDisposable
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _running = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Uri Gateway { get; }
    public Uri GatewayGrpc { get; }
    public string DataDirectory { get; }
    public TimeSpan StartupTime { get; private set; }

    private BeaconUp(int port, string dataDirectory, bool demo, IReadOnlyDictionary<string, string>? environment)
    {
        Gateway = new Uri($"http://127.0.0.1:{port}");
        GatewayGrpc = new Uri($"http://127.0.0.1:{port + 1}");
        DataDirectory = dataDirectory;
        var root = TestEnvironment.RepositoryRoot();
        var start = new ProcessStartInfo("bash")
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { Path.Combine(root, "beacon"), "up", "--no-build", "-c", Configuration, "--port", port.ToString(), "--data", dataDirectory })
        {
            start.ArgumentList.Add(arg);
        }
        if (!demo)
        {
            start.ArgumentList.Add("--no-demo");
        }
        start.Environment["BEACON_RABBITMQ"] = TestEnvironment.RabbitMqVirtualHost($"up{port}-{Guid.NewGuid():N}"[..16]);
        start.Environment["BEACON_QUEUE_PREFIX"] = $"up{port}";
        // Settings for every process (ASP.NET's Section__Key form), e.g. an identity provider the test runs.
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
        }
        if (line.Contains("Beacon is running", StringComparison.Ordinal))
        {
            _running.TrySetResult();
        }
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <param name="purpose">Names the fresh data folder (the test suite's name).</param>
    /// <param name="port">The gateway's port (from <see cref="Ports.FreePlatformBase"/>), when the test must know it first.</param>
    /// <param name="environment">Settings for every process, as environment variables.</param>
    public static async Task<BeaconUp> StartAsync(TimeSpan timeout, bool demo, string purpose, int? port = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var platform = new BeaconUp(port ?? Ports.FreePlatformBase(200, 400), TestEnvironment.NewTempDirectory(purpose), demo, environment);
        var stopwatch = Stopwatch.StartNew();
        platform._process.Start();
        platform._process.BeginOutputReadLine();
        platform._process.BeginErrorReadLine();
        var exited = platform._process.WaitForExitAsync();
        var finished = await Task.WhenAny(platform._running.Task, exited, Task.Delay(timeout));
        if (finished == platform._running.Task)
        {
            platform.StartupTime = stopwatch.Elapsed;
            return platform;
        }
        var why = finished == exited ? "./beacon up exited early" : $"the platform{(demo ? " and its demo" : "")} was not ready within {timeout}";
        var logs = platform.Logs();
        await platform.DisposeAsync();
        throw new InvalidOperationException($"{why}:\n{platform.Output}\n{logs}");
    }

    /// <summary>The last lines of every process log, for a failure message.</summary>
    public string Logs()
    {
        var logs = Path.Combine(DataDirectory, "logs");
        if (!Directory.Exists(logs))
        {
            return "(no logs)";
        }
        var sb = new StringBuilder();
        foreach (var file in Directory.GetFiles(logs, "*.log").Order())
        {
            sb.AppendLine($"--- {Path.GetFileName(file)}");
            foreach (var line in File.ReadLines(file).TakeLast(15))
            {
                sb.AppendLine(line.Length > 400 ? line[..400] : line);
            }
        }
        return sb.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
