using System.Diagnostics;

namespace Beacon.Reliability.Tests;

/// <summary>
/// One Beacon process (a service's or the gateway's built dll, run with --Key=Value arguments the way
/// ./beacon up runs it), with its log appended to a file across restarts. Kill is SIGKILL (kill -9);
/// Terminate is SIGTERM (what Kubernetes and Ctrl-C send).
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly string _directory;
    private readonly string _dll;
    private readonly List<string> _args;
    private Process? _process;

    public string Name { get; }
    public Uri Http { get; }
    public string LogFile { get; }
    public int Restarts { get; private set; }

    public ServiceProcess(string name, string directory, string dll, Uri http, string logFile, IEnumerable<string> args)
    {
        Name = name;
        _directory = directory;
        _dll = dll;
        Http = http;
        LogFile = logFile;
        _args = [.. args];
    }

    /// <summary>Adds a --Key=Value argument for the next start; a later value of the same key wins.</summary>
    public void Override(string argument) => _args.Add(argument);

    public bool Running => _process is { HasExited: false };

    public void Start()
    {
        if (!File.Exists(Path.Combine(_directory, _dll)))
        {
            throw new InvalidOperationException($"{Path.Combine(_directory, _dll)} is not built.");
        }
        // exec: the pid we hold is dotnet's own, so a signal reaches the service and nothing in between.
        var start = new ProcessStartInfo("bash") { WorkingDirectory = _directory, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("exec dotnet \"$@\" >>\"$LOG\" 2>&1");
        start.ArgumentList.Add("beacon-service");
        start.ArgumentList.Add(_dll);
        foreach (var arg in _args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["LOG"] = LogFile;
        File.AppendAllText(LogFile, $"===== start {DateTime.UtcNow:HH:mm:ss.fff}\n");
        _process?.Dispose();
        _process = Process.Start(start)!;
    }

    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = Http, Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (_process is null || _process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited during start-up:\n{Tail(30)}");
            }
            try
            {
                using var ready = await http.GetAsync("/healthz/ready");
                if (ready.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"{Name} was not ready within {timeout}:\n{Tail(30)}");
    }

    /// <summary>kill -9: no shutdown code runs, in-flight work is cut wherever it is.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill();
            await p.WaitForExitAsync();
        }
    }

    /// <summary>SIGTERM, then waits for the process to exit on its own; returns how long it took and its exit code.</summary>
    public async Task<(TimeSpan Took, int ExitCode)> TerminateAsync(TimeSpan timeout)
    {
        var p = _process ?? throw new InvalidOperationException($"{Name} is not running.");
        var clock = Stopwatch.StartNew();
        using (var kill = Process.Start("kill", ["-TERM", p.Id.ToString()]))
        {
            await kill.WaitForExitAsync();
        }
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill();
            await p.WaitForExitAsync();
            throw new TimeoutException($"{Name} did not exit within {timeout} of SIGTERM:\n{Tail(30)}");
        }
        return (clock.Elapsed, p.ExitCode);
    }

    public async Task RestartAsync(TimeSpan timeout)
    {
        Restarts++;
        Start();
        await WaitReadyAsync(timeout);
    }

    public string Tail(int lines) =>
        File.Exists(LogFile) ? string.Join('\n', File.ReadLines(LogFile).TakeLast(lines).Select(l => l.Length > 400 ? l[..400] : l)) : "(no log)";

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
    }
}
