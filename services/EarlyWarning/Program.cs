using Beacon.EarlyWarning.Api;
using Beacon.EarlyWarning.Consumers;
using Beacon.EarlyWarning.Domain;
using Beacon.EarlyWarning.Governance;
using Beacon.EarlyWarning.Grpc;
using Beacon.EarlyWarning.Monitoring;
using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddDefaultProblemHandlers();
builder.AddServiceAuthentication();
builder.AddDefaultOpenApi();
builder.AddServiceDatabase<EarlyWarningDbContext>("earlywarning");
builder.AddServiceBus("early-warning", bus =>
{
    bus.AddConsumer<AttendanceRecordedConsumer>(typeof(AttendanceRecordedConsumerDefinition));
    bus.AddConsumer<AttendanceBatchRecordedConsumer>(typeof(AttendanceBatchRecordedConsumerDefinition));
    bus.AddConsumer<StudentDemographicsRecordedConsumer>();
    bus.AddConsumer<InterventionOutcomeRecordedConsumer>();
    bus.AddSignalConsumers();
    bus.AddEarlyWarningErasure();
});
builder.Services.AddOutboxRelay<EarlyWarningDbContext>();
builder.AddEarlyWarningRetention();
builder.Services.Configure<ChronicAbsenceOptions>(builder.Configuration.GetSection("EarlyWarning:ChronicAbsence"));
builder.AddAbcIndicators();
builder.AddRiskModels();
builder.AddModelMonitoring();
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddScoped<AttendanceUpdates>();
builder.Services.AddGrpc().AddJsonTranscoding();

var app = builder.Build();
await app.InitializeDatabaseAsync<EarlyWarningDbContext>();
app.MapDefaultEndpoints();
app.MapDefaultOpenApi();
app.MapGrpcService<EarlyWarningGrpcService>();
app.MapModelMonitoring();
app.MapRetentionEndpoint("/api/early-warning/v1");
app.Run();

public partial class Program;
