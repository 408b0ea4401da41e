using Beacon.Contracts.Ingestion;
using Beacon.Governance;
using Beacon.Interventions.Apis;
using Beacon.Interventions.Consumers;
using Beacon.Interventions.Domain;
using Beacon.Interventions.Governance;
using Beacon.Interventions.Grpc;
using Beacon.Interventions.Storage;
using Beacon.Messaging;
using Beacon.ServiceDefaults;

namespace Beacon.Interventions;

/// <summary>What Interventions is made of: its database, its consumers, the SLA scanner, the roster client, its APIs.</summary>
internal static class Extensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddServiceApi<InterventionsDbContext>("interventions");
        builder.AddServiceBus("interventions", bus =>
        {
            bus.AddConsumer<RiskAlertRaisedConsumer>(typeof(RiskAlertRaisedConsumerDefinition));
            bus.AddRecordConsumers<AttendanceRecordedConsumer, AttendanceBatchRecordedConsumer>();
            bus.AddConsumer<SectionRosterRecordedConsumer>();
            bus.AddConsumer<StudentDemographicsRecordedConsumer>(typeof(GatheredRecordsDefinition<StudentDemographicsRecordedConsumer>));
            bus.AddConsumer<StudentContactRecordedConsumer>();
            bus.AddConsumer<StaffLeftConsumer>();
            bus.AddConsumer<RiskScoresChangedConsumer>();
            bus.AddInterventionsErasure();
        });
        builder.Services.AddOutboxRelay<InterventionsDbContext>();
        builder.Services.Configure<InterventionsOptions>(builder.Configuration.GetSection("Interventions"));
        builder.Services.AddScoped<CaseOpener>();
        builder.Services.AddScoped<SubgroupUpserts>();
        builder.Services.AddScoped<AttendanceCopy>();
        builder.Services.AddScoped<OverdueCheck>();
        builder.Services.AddScoped<EffectReport>();
        builder.Services.AddScoped<ResourceReport>();
        builder.Services.AddSingleton<ResourceReportCache>();
        builder.Services.AddScoped<MasteryEffectReport>();
        builder.Services.AddScoped<ChangeTestReport>();
        builder.Services.AddScheduledJobs<InterventionsDbContext>();
        builder.Services.AddHostedService<OverdueScanner>();
        // Ingestion by name: its gRPC address is services:ingestion:grpc:0 (topology.json locally, the chart in Kubernetes).
        builder.Services.AddGrpcClient<Roster.RosterClient>(o => o.Address = Topology.GrpcAddress("ingestion"))
            .AddServiceDiscovery()
            .AddHttpMessageHandler<ServiceTokenHandler>()
            .AddStandardResilienceHandler();
        // Mastery by name, likewise: skills for group interventions and the mastery history their effect is measured on.
        builder.Services.AddGrpcClient<Contracts.Mastery.Mastery.MasteryClient>(o => o.Address = Topology.GrpcAddress("mastery"))
            .AddServiceDiscovery()
            .AddHttpMessageHandler<ServiceTokenHandler>()
            .AddStandardResilienceHandler();
        builder.AddInterventionsRetention();
        return builder;
    }

    public static WebApplication MapApplicationApis(this WebApplication app)
    {
        app.MapDefaultOpenApi();
        app.MapGrpcService<InterventionsGrpcService>();
        app.MapCasesApi();
        app.MapEffectReportApi();
        app.MapResourceReportApi();
        app.MapGroupInterventionsApi();
        app.MapMasteryEffectApi();
        app.MapChangeTestsApi();
        app.MapScheduledJobsApi<InterventionsDbContext>("/api/interventions/v1");
        app.MapRetentionEndpoint("/api/interventions/v1");
        return app;
    }
}
