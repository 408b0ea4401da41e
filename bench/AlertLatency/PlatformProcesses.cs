using System.Globalization;

namespace Beacon.Bench;

/// <summary>
/// The service processes of one platform (the children of ./beacon up, named by their .dll) read from /proc: resident
/// memory and CPU time (user + system). Shared by the benches (linked into IngestionThroughput): CPU seconds per record
/// and process hold on a shared machine where wall-clock rates do not.
/// </summary>
internal static class PlatformProcesses
{
    public static List<(string Name, double RssMiB, double CpuSeconds)> Read(int platformPid)
    {
        var found = new List<(string Name, double RssMiB, double CpuSeconds)>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                // Fields after the command's closing parenthesis: state ppid ... utime(14) stime(15), counted from 1.
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(fields[1], CultureInfo.InvariantCulture) != platformPid)
                {
                    continue;
                }
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                var dll = cmdline.FirstOrDefault(a => a.EndsWith(".dll", StringComparison.Ordinal));
                if (dll is null)
                {
                    continue;
                }
                var rssKb = File.ReadLines(Path.Combine(dir, "status")).First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
                    .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
                var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                found.Add((Path.GetFileNameWithoutExtension(dll), double.Parse(rssKb, CultureInfo.InvariantCulture) / 1024, ticks / 100.0));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException or IndexOutOfRangeException or ArgumentOutOfRangeException)
            {
                // Not a process, or one that ended between the listing and the read.
            }
        }
        return found;
    }
}
