using Beacon.EarlyWarning;
using Beacon.EarlyWarning.Storage;
using Beacon.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
await app.InitializeDatabaseAsync<EarlyWarningDbContext>();
app.MapDefaultEndpoints();
app.MapApplicationApis();
app.Run();

public partial class Program;
