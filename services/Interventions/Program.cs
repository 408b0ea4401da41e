using Beacon.Interventions.Consumers;
using Beacon.Interventions.Grpc;
using Beacon.Interventions.Storage;
using Beacon.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddServiceDatabase<InterventionsDbContext>("interventions");
builder.AddServiceBus("interventions", bus => bus.AddConsumer<RiskAlertRaisedConsumer>(typeof(RiskAlertRaisedConsumerDefinition)));
builder.Services.AddOutboxRelay<InterventionsDbContext>();
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddGrpc().AddJsonTranscoding();

var app = builder.Build();
await app.InitializeDatabaseAsync<InterventionsDbContext>();
app.MapDefaultEndpoints();
app.MapGrpcService<InterventionsGrpcService>();
app.Run();

public partial class Program;
