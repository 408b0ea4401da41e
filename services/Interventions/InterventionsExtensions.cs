using Beacon.Contracts.Ingestion;
using Beacon.Interventions.Consumers;
using Beacon.Interventions.Domain;
using Beacon.Interventions.Governance;
using Beacon.Interventions.Storage;
using Beacon.ServiceDefaults;

namespace Beacon.Interventions;

public static class InterventionsExtensions
{
    /// <summary>Bus consumers, the outbox relay, the SLA scanner and the roster client (gRPC to Ingestion).</summary>
    public static IHostApplicationBuilder AddInterventions(this IHostApplicationBuilder builder)
    {
        builder.AddServiceBus("interventions", bus =>
        {
            bus.AddConsumer<RiskAlertRaisedConsumer>(typeof(RiskAlertRaisedConsumerDefinition));
            bus.AddConsumer<AttendanceRecordedConsumer>(typeof(AttendanceRecordedConsumerDefinition));
            bus.AddConsumer<AttendanceBatchRecordedConsumer>(typeof(AttendanceBatchRecordedConsumerDefinition));
            bus.AddInterventionsErasure();
        });
        builder.Services.AddOutboxRelay<InterventionsDbContext>();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.Configure<InterventionsOptions>(builder.Configuration.GetSection("Interventions"));
        builder.Services.AddScoped<CaseOpener>();
        builder.Services.AddScoped<AttendanceCopy>();
        builder.Services.AddScoped<OverdueCheck>();
        builder.Services.AddScoped<EffectReport>();
        builder.Services.AddHostedService<OverdueScanner>();
        builder.Services.AddGrpcClient<Roster.RosterClient>(o => o.Address = new Uri(builder.Configuration["Services:Ingestion:Grpc"] ?? "http://127.0.0.1:8091"))
            .AddHttpMessageHandler<ServiceTokenHandler>()
            .AddStandardResilienceHandler();
        return builder;
    }
}
