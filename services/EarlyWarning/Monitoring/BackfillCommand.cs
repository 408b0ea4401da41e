using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.ServiceDefaults;

namespace Beacon.EarlyWarning.Monitoring;

/// <summary>
/// <c>EarlyWarning backfill-monitoring [--kind K] [--from yyyy-MM-dd] [--to yyyy-MM-dd]</c>: the monitoring backfill of
/// <c>POST …/monitoring/backfill</c> (<see cref="MonitoringBackfill"/>) from the command line, with the service's own settings
/// (an install Job after a history was loaded, or a shell on a replica). Prints what it did and exits 0 done, 1 refused (no
/// active model; reason printed), 2 a usage error or a bad field (named). Recorded as requested by <c>command:&lt;OS user&gt;</c>.
/// </summary>
public static class BackfillCommand
{
    public const string Name = "backfill-monitoring";
    public const string Usage = "usage: EarlyWarning backfill-monitoring [--kind chronic-absence|dropout] [--from yyyy-MM-dd] [--to yyyy-MM-dd]";

    public static bool IsBackfill(string[] args) => args.Length > 0 && args[0] == Name;

    /// <summary>The command's own options out of <paramref name="args"/>; what is left are settings for the host (--Key=value).</summary>
    public static (BackfillRequest? Request, string? Error, string[] HostArgs) Parse(string[] args)
    {
        string? kind = null, from = null, to = null;
        var rest = new List<string>();
        for (var i = 1; i < args.Length; i++)
        {
            string? Value() => i + 1 < args.Length ? args[++i] : null;
            switch (args[i])
            {
                case "--kind": kind = Value(); break;
                case "--from": from = Value(); break;
                case "--to": to = Value(); break;
                default:
                    if (!args[i].Contains('=', StringComparison.Ordinal))
                    {
                        return (null, $"unknown option '{args[i]}'.", []);
                    }
                    rest.Add(args[i]);
                    break;
            }
        }
        return (new BackfillRequest(kind, from, to), null, [.. rest]);
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var (request, error, hostArgs) = Parse(args);
        if (request is null)
        {
            await Console.Error.WriteLineAsync($"{Name}: {error}\n{Usage}");
            return 2;
        }
        // Only the database and the models are used.
        await using var app = await Extensions.BuildCommandHostAsync(hostArgs);
        await using var scope = app.Services.CreateAsyncScope();
        try
        {
            var r = await scope.ServiceProvider.GetRequiredService<MonitoringBackfill>().RunAsync(request, $"command:{Environment.UserName}", "command", CancellationToken.None);
            Console.WriteLine($"RESULT backfill kind={r.Kind} version={r.ModelVersion} from={r.From:yyyy-MM-dd} to={r.To:yyyy-MM-dd} school_days={r.SchoolDays} "
                + $"backfilled={r.DaysBackfilled} kept={r.DaysKept} refused={r.DaysRefused.Count} runs={r.Runs} weeks={r.WeeksBackfilled} weeks_kept={r.WeeksKept}");
            foreach (var refused in r.DaysRefused)
            {
                Console.WriteLine($"  {refused.AsOf:yyyy-MM-dd} not measured: {refused.Reason}");
            }
            return 0;
        }
        catch (MonitoringValidationException e)
        {
            await Console.Error.WriteLineAsync($"{Name}: " + string.Join("; ", e.Errors.Select(f => $"{f.Key}: {string.Join(" ", f.Value)}")) + $"\n{Usage}");
            return 2;
        }
        catch (ModelRegistryException e)
        {
            await Console.Error.WriteLineAsync($"{Name}: {e.Message}");
            return 1;
        }
    }
}
