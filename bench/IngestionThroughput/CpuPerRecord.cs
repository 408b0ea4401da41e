using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Beacon.Bench;

/// <summary>
/// CPU seconds (user + system, from /proc) each platform process and this client spent on one load, per 1,000 records:
/// from the load's start to stored and published (the gateway's and Ingestion's own cost) and to the platform's queues
/// empty again (what the consumers spent on it as well). Unlike records per second these hold on a machine that other
/// work shares, so the CSV, the stream and a build before a change compare in any run.
/// </summary>
internal sealed class CpuPerRecord(int? platformPid)
{
    private readonly List<(string Load, int Records, Dictionary<string, double> Start, Dictionary<string, double> Published, Dictionary<string, double> Drained)> loads = [];
    private (string Load, int Records, Dictionary<string, double> Start, Dictionary<string, double>? Published)? current;

    public void Start(string load, int records)
    {
        Close();
        current = (load, records, Read(), null);
    }

    public void Published()
    {
        if (current is { } c)
        {
            current = c with { Published = Read() };
        }
    }

    /// <summary>The platform has consumed the load (its queues are empty): closes the load's second window.</summary>
    public void Close()
    {
        if (current is { Published: { } published } c)
        {
            loads.Add((c.Load, c.Records, c.Start, published, Read()));
        }
        current = null;
    }

    private Dictionary<string, double> Read()
    {
        var cpu = platformPid is { } pid ? PlatformProcesses.Read(pid).ToDictionary(p => p.Name, p => p.CpuSeconds) : [];
        cpu["(this client)"] = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        return cpu;
    }

    public string Report()
    {
        if (loads.Count == 0)
        {
            return "";
        }
        var text = new StringBuilder("CPU seconds per 1,000 records (to stored and published / to the queues empty again)\n");
        text.Append(CultureInfo.InvariantCulture, $"{"process",-16}");
        foreach (var load in loads)
        {
            text.Append(CultureInfo.InvariantCulture, $" {load.Load,24}");
        }
        text.AppendLine();
        var names = loads.SelectMany(l => l.Drained.Keys).Distinct().Order(StringComparer.Ordinal).Append("(platform)");
        foreach (var name in names)
        {
            text.Append(CultureInfo.InvariantCulture, $"{name,-16}");
            foreach (var (_, records, start, published, drained) in loads)
            {
                double Spent(Dictionary<string, double> end) => name == "(platform)"
                    ? end.Where(p => p.Key != "(this client)").Sum(p => p.Value - start.GetValueOrDefault(p.Key, p.Value))
                    : end.GetValueOrDefault(name) - start.GetValueOrDefault(name, end.GetValueOrDefault(name));
                text.Append(CultureInfo.InvariantCulture, $" {1000 * Spent(published) / records,11:F3} / {1000 * Spent(drained) / records,10:F3}");
            }
            text.AppendLine();
        }
        return text.ToString();
    }
}
