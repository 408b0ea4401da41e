using Beacon.EarlyWarning;
using Beacon.EarlyWarning.Monitoring;
using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.ServiceDefaults;

// `EarlyWarning train ...` trains and registers a model version and exits (the chart's CronJob and install Job).
if (TrainCommand.IsTrain(args))
{
    return await TrainCommand.RunAsync(args);
}
// `EarlyWarning bench-rescore ...` measures the batch re-score against a database it fills and exits (bench/RESULTS.md).
if (RescoreBenchCommand.IsBench(args))
{
    return await RescoreBenchCommand.RunAsync(args);
}

// `EarlyWarning backfill-monitoring ...` computes the monitoring history of past school days and exits.
if (BackfillCommand.IsBackfill(args))
{
    return await BackfillCommand.RunAsync(args);
}

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
await app.InitializeEarlyWarningDatabaseAsync();
app.MapDefaultEndpoints();
app.MapApplicationApis();
app.Run();
return 0;

public partial class Program;
