using Beacon.Ingestion;
using Beacon.Ingestion.Storage;
using Beacon.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
await app.InitializeDatabaseAsync<IngestionDbContext>();
app.MapDefaultEndpoints();
app.MapApplicationApis();
app.Run();

public partial class Program;
