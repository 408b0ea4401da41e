using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Beacon.Bench;

/// <summary>
/// Samples, every <see cref="Every"/>, the resident memory and CPU time of each service process of the platform (the
/// children of ./beacon up, named by their .dll) from /proc, and the message count of the run's RabbitMQ queues
/// (rabbitmqctl, when the local node answers; a few queues growing is where a pipeline falls behind). Memory is
/// "flat" when the last minute's mean is close to the first minute's.
/// </summary>
internal sealed class ProcessSampler(int platformPid, string? queuePrefix)
{
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan QueueEvery = TimeSpan.FromSeconds(30);
    private readonly List<(TimeSpan At, string Name, double RssMiB, double CpuSeconds)> samples = [];
    private readonly Dictionary<string, (int Max, int Last)> queues = [];
    private readonly Stopwatch clock = new();
    private string? queueError;

    public async Task RunAsync(CancellationToken ct)
    {
        clock.Start();
        var nextQueues = TimeSpan.Zero;
        while (!ct.IsCancellationRequested)
        {
            Sample();
            if (queuePrefix is not null && clock.Elapsed >= nextQueues)
            {
                await SampleQueuesAsync();
                nextQueues = clock.Elapsed + QueueEvery;
            }
            try
            {
                await Task.Delay(Every, ct);
            }
            catch (OperationCanceledException)
            {
            }
        }
        Sample();
    }

    private void Sample()
    {
        var at = clock.Elapsed;
        var found = PlatformProcesses.Read(platformPid);
        lock (samples)
        {
            samples.AddRange(found.Select(p => (at, p.Name, p.RssMiB, p.CpuSeconds)));
        }
    }

    private async Task SampleQueuesAsync()
    {
        try
        {
            foreach (var (name, n) in await QueueDepths.ReadAsync(queuePrefix!))
            {
                queues[name] = (Math.Max(n, queues.GetValueOrDefault(name).Max), n);
            }
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException or InvalidOperationException)
        {
            queueError = ex.Message;
        }
    }

    /// <summary>
    /// Per process: mean RSS over the first and the last minute of the run, their difference, the largest, and the mean CPU
    /// it used (cores: CPU seconds over wall seconds); then each process's mean RSS minute by minute. Returns the table, the
    /// largest first-to-last growth and the largest growth over the run's second half (MiB): a process whose heaps are
    /// still growing to their working size after a start grows in the first minutes and then levels off, a leak keeps
    /// growing, so the second half tells them apart where first-to-last cannot.
    /// </summary>
    public (string Table, double MaxGrowthMiB, double MaxLateGrowthMiB) Report()
    {
        var text = new StringBuilder("process          RSS first min  RSS last min   change    max RSS   CPU (cores, mean)\n");
        var maxGrowth = double.NegativeInfinity;
        List<(TimeSpan At, string Name, double RssMiB, double CpuSeconds)> all;
        lock (samples)
        {
            all = [.. samples];
        }
        if (all.Count == 0)
        {
            return ("(no platform process sampled: pass ./beacon up's process id)\n", double.NaN, double.NaN);
        }
        var end = all.Max(s => s.At);
        var maxLateGrowth = double.NegativeInfinity;
        var byMinute = new StringBuilder($"RSS by minute (MiB, mean of each minute's samples; second half = minute {(int)(end.TotalMinutes / 2)} to the last)\n");
        foreach (var process in all.GroupBy(s => s.Name).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var first = process.Where(s => s.At <= TimeSpan.FromMinutes(1)).Select(s => s.RssMiB).DefaultIfEmpty(double.NaN).Average();
            var last = process.Where(s => s.At >= end - TimeSpan.FromMinutes(1)).Select(s => s.RssMiB).DefaultIfEmpty(double.NaN).Average();
            var (a, b) = (process.MinBy(s => s.At), process.MaxBy(s => s.At));
            var cores = b.At > a.At ? (b.CpuSeconds - a.CpuSeconds) / (b.At - a.At).TotalSeconds : double.NaN;
            maxGrowth = Math.Max(maxGrowth, last - first);
            text.AppendLine(CultureInfo.InvariantCulture, $"{process.Key,-16} {first,10:F0} MiB {last,9:F0} MiB {last - first,+7:+0;-0} MiB {process.Max(s => s.RssMiB),6:F0} MiB   {cores,5:F2}");
            var minutes = process.GroupBy(s => (int)s.At.TotalMinutes).OrderBy(m => m.Key).Select(m => m.Average(s => s.RssMiB)).ToList();
            var half = minutes[Math.Min(minutes.Count - 1, (int)(end.TotalMinutes / 2))];
            maxLateGrowth = Math.Max(maxLateGrowth, last - half);
            byMinute.AppendLine(CultureInfo.InvariantCulture,
                $"{process.Key,-16} {string.Join(" ", minutes.Select(m => m.ToString("F0", CultureInfo.InvariantCulture)))}   second half {last - half:+0;-0} MiB");
        }
        text.Append(byMinute);
        if (queuePrefix is not null)
        {
            text.AppendLine(queueError is not null ? $"queue depths: not sampled ({queueError})"
                : queues.Count == 0 ? "queue depths: no queue of this run seen (another broker?)"
                : "queue depths every 30 s (max / at the end of sending), deepest first: "
                    + string.Join(", ", queues.OrderByDescending(q => q.Value.Max).Take(8).Select(q => $"{q.Key} {q.Value.Max}/{q.Value.Last}")));
        }
        return (text.ToString(), maxGrowth, maxLateGrowth);
    }
}
