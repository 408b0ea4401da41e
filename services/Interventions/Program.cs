using Beacon.Interventions;
using Beacon.Interventions.Api;
using Beacon.Interventions.Governance;
using Beacon.Interventions.Grpc;
using Beacon.Interventions.Storage;
using Beacon.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddDefaultProblemHandlers();
builder.AddServiceAuthentication();
builder.AddDefaultOpenApi();
builder.AddServiceDatabase<InterventionsDbContext>("interventions");
builder.AddInterventions();
builder.AddInterventionsRetention();
builder.Services.AddGrpc().AddJsonTranscoding();

var app = builder.Build();
await app.InitializeDatabaseAsync<InterventionsDbContext>();
app.MapDefaultEndpoints();
app.MapDefaultOpenApi();
app.MapGrpcService<InterventionsGrpcService>();
app.MapCaseEndpoints();
app.MapEffectEndpoints();
app.MapRetentionEndpoint("/api/interventions/v1");
app.Run();

public partial class Program;
