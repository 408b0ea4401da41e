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
        builder.Services.AddHostedService<StudentSearchBackfill>();
        builder.Services.Configure<XapiOptions>(builder.Configuration.GetSection("Xapi"));
        builder.Services.Configure<OneRosterOptions>(builder.Configuration.GetSection(OneRosterOptions.Section));
        builder.AddOneRosterRest();
        builder.AddXapiBasic();
        return builder;
    }

    /// <summary>The OneRoster REST connectors (each off unless Enabled): the HTTP client, tokens, pull and schedules; names checked at start.</summary>
    private static void AddOneRosterRest(this IHostApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection(OneRosterRestOptions.Section);
        var settings = section.Get<OneRosterRestOptions>() ?? new OneRosterRestOptions();
        // Two connectors under one name would share a high-water mark: refuse to start, saying which.
        builder.Services.AddOptions<OneRosterRestOptions>().Bind(section)
            .Validate(o => !o.Problems().Any(), string.Join(" ", settings.Problems())).ValidateOnStart();
        builder.Services.AddScheduledJobs<IngestionDbContext>();
        builder.Services.AddSingleton<OneRosterTokens>();
        builder.Services.AddScoped<OneRosterRestClient>();
        builder.Services.AddScoped<OneRosterRestPull>();
        builder.Services.AddHostedService<OneRosterRestSchedule>();
        // Transient failures (5xx, 408, 429, timeouts, refused connections) are retried with back-off by the standard
        // handler; what is still failing after the retries fails the pull (OneRosterRestClient says which call).
        builder.Services.AddHttpClient(OneRosterRestClient.ClientName)
            .AddStandardResilienceHandler(o =>
            {
                o.Retry.MaxRetryAttempts = Math.Max(1, settings.Retries);
                o.Retry.Delay = settings.RetryDelay;
                o.AttemptTimeout.Timeout = settings.RequestTimeout;
                o.TotalRequestTimeout.Timeout = (settings.RequestTimeout + settings.RetryDelay * 8) * (settings.Retries + 1);
                o.CircuitBreaker.SamplingDuration = settings.RequestTimeout * 2;
            });
    }

    public static WebApplication MapApplicationApis(this WebApplication app)
    {
        app.MapDefaultOpenApi();
        app.MapIntakeApi();
        app.MapOperationsApi();
        app.MapXapiApi();
        app.MapXapiCredentialsApi();
        app.MapRosterApi();
        app.MapOneRosterRestApi();
        app.MapScheduledJobsApi<IngestionDbContext>("/api/ingestion/v1", runNow: true);
        app.MapGovernanceEndpoints();
        app.MapGrpcService<RosterGrpcService>();
        app.MapGrpcService<AttendanceHistoryGrpcService>();
        app.MapGrpcService<SignalFeedGrpcService>();
        return app;
    }
}
