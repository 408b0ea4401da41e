using Beacon.EarlyWarning.Apis;
using Beacon.EarlyWarning.Consumers;
using Beacon.EarlyWarning.Domain;
using Beacon.EarlyWarning.Governance;
using Beacon.EarlyWarning.Grpc;
using Beacon.EarlyWarning.Monitoring;
using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.Governance;
using Beacon.Messaging;
using Beacon.ServiceDefaults;

namespace Beacon.EarlyWarning;

/// <summary>What Early warning is made of: its database, its consumers, its risk models and their monitoring, its APIs.</summary>
internal static class Extensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddServiceApi<EarlyWarningDbContext>("earlywarning");
        builder.AddServiceBus("early-warning", bus =>
        {
            bus.AddRecordConsumers<AttendanceRecordedConsumer, AttendanceBatchRecordedConsumer>();
            // The roster's projections, gathered into batches: a roster upload publishes thousands at once.
            bus.AddConsumer<StudentDemographicsRecordedConsumer>(typeof(GatheredRecordsDefinition<StudentDemographicsRecordedConsumer>));
            bus.AddConsumer<StudentEnrolledConsumer>(typeof(GatheredRecordsDefinition<StudentEnrolledConsumer>));
            bus.AddConsumer<SchoolCalendarRecordedConsumer>();
            bus.AddConsumer<StudentExitedConsumer>(typeof(GatheredRecordsDefinition<StudentExitedConsumer>));
            bus.AddConsumer<InterventionOutcomeRecordedConsumer>();
            bus.AddSignalConsumers();
            bus.AddEarlyWarningErasure();
            // Every replica, not one of them: a queue per process, deleted when it stops.
            bus.AddConsumer<ModelActivatedConsumer>().Endpoint(e =>
            {
                e.InstanceId = Guid.NewGuid().ToString("N")[..12];
                e.Temporary = true;
            });
        });
        builder.Services.AddOutboxRelay<EarlyWarningDbContext>();
        builder.AddEarlyWarningRetention();
        builder.Services.Configure<ChronicAbsenceOptions>(builder.Configuration.GetSection("EarlyWarning:ChronicAbsence"));
        builder.AddAbcIndicators();
        builder.AddRiskModels();
        builder.AddModelMonitoring();
        builder.Services.AddScoped<AttendanceUpdates>();
        builder.Services.AddScoped<DemographicsUpserts>();
        builder.Services.AddScoped<RosterUpserts>();
        builder.Services.AddScoped<ExitUpserts>();
        builder.Services.AddScoped<OutcomeDeriver>();
        builder.Services.AddScoped<HistoryTrainingSet>();
        builder.Services.AddScoped<ModelTraining>();
        builder.Services.AddHostedService<YearEndOutcomesService>();
        // The analyst profile and the research extract (Research:PseudonymKey is the district's secret; never defaulted).
        builder.Services.Configure<ResearchOptions>(builder.Configuration.GetSection("Research"));
        builder.Services.AddScoped<StudentProfiles>();
        builder.Services.AddScoped<ResearchExtracts>();
        return builder;
    }

    public static WebApplication MapApplicationApis(this WebApplication app)
    {
        app.MapDefaultOpenApi();
        app.MapGrpcService<EarlyWarningGrpcService>();
        app.MapRisksApi();
        app.MapModelsApi();
        app.MapModelMonitoring();
        app.MapFeaturesApi();
        app.MapScheduledJobsApi<EarlyWarningDbContext>("/api/early-warning/v1");
        app.MapDerivedOutcomesApi();
        app.MapResearchApi();
        app.MapRetentionEndpoint("/api/early-warning/v1");
        return app;
    }

    /// <summary>
    /// The service's host for a command that runs and exits (train, backfill-monitoring): the service's own settings and
    /// services, its database made ready, never started (no web server, no consumers, no scheduled jobs).
    /// </summary>
    public static async Task<WebApplication> BuildCommandHostAsync(string[] hostArgs)
    {
        var builder = WebApplication.CreateBuilder(hostArgs);
        builder.AddServiceDefaults();
        builder.AddApplicationServices();
        var app = builder.Build();
        await app.InitializeEarlyWarningDatabaseAsync();
        return app;
    }

    /// <summary>
    /// The schema made or brought up to date (tables and columns added since), then this service's own upgrade steps on the
    /// data: the attendance packs of a database made before they existed (<see cref="AttendancePacking.BackfillAsync"/>).
    /// </summary>
    public static async Task InitializeEarlyWarningDatabaseAsync(this WebApplication app)
    {
        await app.InitializeDatabaseAsync<EarlyWarningDbContext>();
        await using var scope = app.Services.CreateAsyncScope();
        var packed = await AttendancePacking.BackfillAsync(scope.ServiceProvider.GetRequiredService<EarlyWarningDbContext>(), app.Lifetime.ApplicationStopping);
        if (packed > 0)
        {
            app.Logger.LogInformation("Packed the stored attendance of {Students} students (one row each, for the re-score)", packed);
        }
    }
}
