using Beacon.Mastery.Api;
using Beacon.Mastery.Consumers;
using Beacon.Mastery.Domain;
using Beacon.Mastery.Evaluation;
using Beacon.Mastery.Governance;
using Beacon.Mastery.Grpc;
using Beacon.Mastery.Storage;
using Beacon.ServiceDefaults;

if (args is ["eval" or "eval-simulator" or "bench-update" or "bench-batch", ..])
{
    return EvaluationCommand.Run(args);
}

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddDefaultProblemHandlers();
builder.AddServiceAuthentication();
builder.AddDefaultOpenApi();
builder.AddServiceDatabase<MasteryDbContext>("mastery");
builder.AddServiceBus("mastery", bus =>
{
    bus.AddConsumer<ItemResponseRecordedConsumer>(typeof(ItemResponseRecordedConsumerDefinition));
    bus.AddConsumer<ItemResponseBatchRecordedConsumer>(typeof(ItemResponseBatchRecordedConsumerDefinition));
    bus.AddConsumer<StudentEnrolledConsumer>();
    bus.AddMasteryErasure();
});
builder.Services.AddOutboxRelay<MasteryDbContext>();
builder.AddMasteryRetention();
builder.Services.Configure<MasteryOptions>(builder.Configuration.GetSection("Mastery"));
builder.Services.AddScoped<SkillRefitter>();
builder.Services.AddScoped<MasteryTracker>();
builder.Services.AddHostedService<ScheduledRefit>();
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddGrpc().AddJsonTranscoding();

var app = builder.Build();
await app.InitializeDatabaseAsync<MasteryDbContext>();
app.MapDefaultEndpoints();
app.MapDefaultOpenApi();
app.MapSkillGraphEndpoints();
app.MapMasteryHistoryEndpoints();
app.MapRetentionEndpoint("/api/mastery/v1");
app.MapGrpcService<MasteryGrpcService>();
app.Run();
return 0;

public partial class Program;
