using Beacon.Ingestion.Apis;
using Beacon.Ingestion.Governance;
using Beacon.Ingestion.Grpc;
using Beacon.Ingestion.Intake;
using Beacon.Ingestion.Storage;
using Beacon.Messaging;
using Beacon.ServiceDefaults;

namespace Beacon.Ingestion;

/// <summary>What Ingestion is made of: its database, the intake of signals and rosters, governance (erasure, retention), its APIs.</summary>
internal static class Extensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddServiceApi<IngestionDbContext>("ingestion");
        builder.AddServiceBus("ingestion", bus => bus.AddIngestionGovernanceConsumers());
        builder.AddIngestionGovernance();
        builder.Services.AddOutboxRelay<IngestionDbContext>();
        builder.Services.AddScoped<SignalIntake>();
        builder.Services.AddScoped<RosterImport>();
        builder.Services.AddScoped<OneRosterImport>();
        builder.Services.AddScoped<XapiRecorder>();
        builder.Services.Configure<XapiOptions>(builder.Configuration.GetSection("Xapi"));
        return builder;
    }

    public static WebApplication MapApplicationApis(this WebApplication app)
    {
        app.MapDefaultOpenApi();
        app.MapIntakeApi();
        app.MapOperationsApi();
        app.MapXapiApi();
        app.MapRosterApi();
        app.MapGovernanceEndpoints();
        app.MapGrpcService<RosterGrpcService>();
        app.MapGrpcService<AttendanceHistoryGrpcService>();
        app.MapGrpcService<SignalFeedGrpcService>();
        return app;
    }
}
