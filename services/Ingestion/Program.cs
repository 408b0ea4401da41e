using Beacon.Ingestion.Api;
using Beacon.Ingestion.Governance;
using Beacon.Ingestion.Grpc;
using Beacon.Ingestion.Intake;
using Beacon.Ingestion.Storage;
using Beacon.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddDefaultProblemHandlers();
builder.AddServiceAuthentication();
builder.AddDefaultOpenApi();
builder.AddServiceDatabase<IngestionDbContext>("ingestion");
builder.AddServiceBus("ingestion", bus => bus.AddIngestionGovernanceConsumers());
builder.AddIngestionGovernance();
builder.Services.AddOutboxRelay<IngestionDbContext>();
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddScoped<SignalIntake>();
builder.Services.AddScoped<RosterImport>();
builder.Services.AddScoped<OneRosterImport>();
builder.Services.AddGrpc().AddJsonTranscoding();

var app = builder.Build();
await app.InitializeDatabaseAsync<IngestionDbContext>();
app.MapDefaultEndpoints();
app.MapDefaultOpenApi();
app.MapIngestionEndpoints();
app.MapOperationsEndpoints();
app.MapGovernanceEndpoints();
app.MapGrpcService<RosterGrpcService>();
app.MapGrpcService<AttendanceHistoryGrpcService>();
app.MapGrpcService<SignalFeedGrpcService>();
app.Run();

public partial class Program;
