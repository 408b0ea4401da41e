using Beacon.Interventions;
using Beacon.Interventions.Storage;
using Beacon.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
await app.InitializeDatabaseAsync<InterventionsDbContext>();
app.MapDefaultEndpoints();
app.MapApplicationApis();
app.Run();

public partial class Program;
