using Beacon.EarlyWarning;
using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.ServiceDefaults;

// `EarlyWarning train ...` trains and registers a model version and exits (the chart's CronJob and install Job).
if (TrainCommand.IsTrain(args))
{
    return await TrainCommand.RunAsync(args);
}

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
await app.InitializeDatabaseAsync<EarlyWarningDbContext>();
app.MapDefaultEndpoints();
app.MapApplicationApis();
app.Run();
return 0;

public partial class Program;
