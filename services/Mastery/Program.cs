using Beacon.Mastery;
using Beacon.Mastery.Storage;
using Beacon.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
await app.InitializeDatabaseAsync<MasteryDbContext>();
app.MapDefaultEndpoints();
app.MapApplicationApis();
app.Run();

public partial class Program;
