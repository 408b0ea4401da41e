using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels;
using Beacon.ServiceDefaults;

namespace Beacon.EarlyWarning.Scoring;

/// <summary>
/// <c>EarlyWarning train --kind K [--source synthetic|district] [--students N] [--seed S] [--promote]</c>: trains a model
/// version through the same path as <c>POST /api/early-warning/v1/models/train</c> (<see cref="ModelTraining"/>) (train, evaluate on held-out
/// students, store the artifact and its card in the database, register a candidate), prints what it measured and exits:
/// 0 registered, 1 the training or the registry refused (reason printed; e.g. --source district before two school years
/// have derived outcomes), 2 a usage error. It reads the service's own settings (database, broker), so the chart's CronJob and install Job run it with
/// the service's environment. A promotion is published through the outbox like the API's, and the running replicas
/// relay it.
/// </summary>
public static class TrainCommand
{
    public const int Registered = 0;
    public const int Refused = 1;
    public const int UsageError = 2;

    public const string Usage = "usage: EarlyWarning train --kind <chronic-absence|dropout> [--source synthetic|district] [--students N] [--seed S] [--promote]";

    public static bool IsTrain(string[] args) => args.Length > 0 && args[0] == "train";

    public sealed record Request(string Kind, string Source, int Students, int Seed, bool Promote);

    /// <summary>The command's own options out of <paramref name="args"/>; what is left are settings for the host (--Key=value).</summary>
    public static (Request? Request, string? Error, string[] HostArgs) Parse(string[] args)
    {
        string? kind = null, source = "synthetic";
        int students = 0, seed = 0;
        var promote = false;
        var rest = new List<string>();
        for (var i = 1; i < args.Length; i++)
        {
            string? Value() => i + 1 < args.Length ? args[++i] : null;
            switch (args[i])
            {
                case "--kind": kind = Value(); break;
                case "--source": source = Value(); break;
                case "--students" when int.TryParse(args.ElementAtOrDefault(i + 1), out var n): students = n; i++; break;
                case "--seed" when int.TryParse(args.ElementAtOrDefault(i + 1), out var s): seed = s; i++; break;
                case "--promote": promote = true; break;
                case "--students" or "--seed": return (null, $"{args[i]} needs a whole number.", []);
                default:
                    if (!args[i].Contains('=', StringComparison.Ordinal))
                    {
                        return (null, $"unknown option '{args[i]}'.", []);
                    }
                    rest.Add(args[i]);
                    break;
            }
        }
        if (string.IsNullOrWhiteSpace(kind))
        {
            return (null, "--kind is required.", []);
        }
        if (source is not ("synthetic" or "district"))
        {
            return (null, $"--source must be 'synthetic' or 'district'; got '{source}'.", []);
        }
        return (new Request(kind, source, students, seed, promote), null, [.. rest]);
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var (request, error, hostArgs) = Parse(args);
        if (request is null)
        {
            await Console.Error.WriteLineAsync($"train: {error}\n{Usage}");
            return UsageError;
        }
        // Only the database and the registry are used.
        await using var app = await Extensions.BuildCommandHostAsync(hostArgs);
        await using var scope = app.Services.CreateAsyncScope();
        try
        {
            // The one training path: synthetic cold start, or the district's history with the promotion gate.
            var record = await scope.ServiceProvider.GetRequiredService<ModelTraining>()
                .TrainAsync(new TrainRequest(request.Kind, request.Source, request.Students, request.Seed, request.Promote), CancellationToken.None);
            var card = RiskModelFile.DeserializeCard(record.CardJson);
            var served = card.Reports.FirstOrDefault(r => r.Name == card.Algorithm) ?? card.Reports[0];
            Console.WriteLine($"RESULT train kind={record.Kind} version={record.Version} model={record.ModelId} status={record.Status} "
                + $"source={request.Source} algorithm={card.Algorithm} auc={served.Auc:F4} baseline_auc={card.Baseline.Auc:F4} "
                + $"beats_baseline={card.BeatsBaseline.ToString().ToLowerInvariant()} threshold={card.Threshold:F4}");
            return Registered;
        }
        catch (ModelRegistryException ex)
        {
            await Console.Error.WriteLineAsync($"train: {ex.Message}");
            return Refused;
        }
    }
}
