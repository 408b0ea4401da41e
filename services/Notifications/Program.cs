using Beacon.Contracts.Ingestion;
using Beacon.Notifications.Consumers;
using Beacon.Notifications.Grpc;
using Beacon.Notifications.Storage;
using Beacon.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddServiceDatabase<NotificationsDbContext>("notifications");
builder.AddServiceBus("notifications", bus => bus.AddConsumer<RiskAlertRaisedConsumer>());
builder.Services.AddOutboxRelay<NotificationsDbContext>();
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddGrpcClient<Roster.RosterClient>(o => o.Address = new Uri(builder.Configuration["Services:Ingestion:Grpc"]!))
    .AddStandardResilienceHandler();
builder.Services.AddGrpc().AddJsonTranscoding();

var app = builder.Build();
await app.InitializeDatabaseAsync<NotificationsDbContext>();
app.MapDefaultEndpoints();
app.MapGrpcService<NotificationsGrpcService>();
app.Run();

public partial class Program;
