using System.Diagnostics;

namespace Beacon.Bench;

/// <summary>
/// The message counts of one platform's RabbitMQ queues (those named with its queue prefix), read with rabbitmqctl from the
/// local node, in the run's virtual host when ./beacon bench gave it one (BEACON_BENCH_VHOST). Shared by the benches
/// (linked into IngestionThroughput): where a pipeline falls behind, and whether the platform has finished a load. A broker
/// node of another name (a private one given with BEACON_RABBITMQ) is named in BEACON_BENCH_RABBITMQ_NODE.
/// </summary>
internal static class QueueDepths
{
    /// <summary>Queue (prefix removed) → messages ready and unacknowledged; throws when rabbitmqctl cannot answer.</summary>
    public static async Task<Dictionary<string, int>> ReadAsync(string queuePrefix)
    {
        var vhost = Environment.GetEnvironmentVariable("BEACON_BENCH_VHOST") is { Length: > 0 } v ? $" -p {v}" : "";
        var node = Environment.GetEnvironmentVariable("BEACON_BENCH_RABBITMQ_NODE") is { Length: > 0 } name ? name : "rabbit@localhost";
        using var ctl = Process.Start(new ProcessStartInfo("/usr/lib/rabbitmq/bin/rabbitmqctl", $"-n {node} list_queues -q{vhost} name messages")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = await ctl.StandardOutput.ReadToEndAsync();
        await ctl.WaitForExitAsync();
        if (ctl.ExitCode != 0)
        {
            // No answer (another broker, no such virtual host) is not "every queue empty".
            throw new InvalidOperationException($"rabbitmqctl list_queues exited with {ctl.ExitCode}: {(await ctl.StandardError.ReadToEndAsync()).Trim()}");
        }
        var depths = new Dictionary<string, int>();
        foreach (var line in output.Split('\n'))
        {
            var parts = line.Split('\t');
            if (parts.Length == 2 && parts[0].StartsWith(queuePrefix, StringComparison.Ordinal) && int.TryParse(parts[1], out var n))
            {
                depths[parts[0][queuePrefix.Length..].TrimStart('-', '.', '_')] = n;
            }
        }
        return depths;
    }

    /// <summary>
    /// Waits until every queue of the platform is empty (two readings a second apart), at most <paramref name="limit"/>;
    /// returns how long it waited, or null when the depths cannot be read (no local rabbitmqctl: nothing is waited for).
    /// </summary>
    public static async Task<TimeSpan?> UntilDrainedAsync(string queuePrefix, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        var emptyReadings = 0;
        try
        {
            while (emptyReadings < 2 && clock.Elapsed < limit)
            {
                emptyReadings = (await ReadAsync(queuePrefix)).Values.All(n => n == 0) ? emptyReadings + 1 : 0;
                if (emptyReadings < 2)
                {
                    await Task.Delay(1000);
                }
            }
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException or InvalidOperationException)
        {
            return null;
        }
        return clock.Elapsed;
    }
}
