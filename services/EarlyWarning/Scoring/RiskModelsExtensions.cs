using Beacon.Messaging;
using Beacon.ServiceDefaults;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Beacon.EarlyWarning.Scoring;

public static class RiskModelsExtensions
{
    /// <summary>Model registry, loaded-model cache, per-student scoring and the nightly re-score.</summary>
    public static IHostApplicationBuilder AddRiskModels(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<ModelOptions>(builder.Configuration.GetSection("EarlyWarning:Models"));
        builder.Services.AddSingleton<LoadedModels>();
        builder.Services.AddSingleton<ActiveModelsWarmUp>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ActiveModelsWarmUp>());
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration("active-models-warm",
            sp => sp.GetRequiredService<ActiveModelsWarmUp>(), HealthStatus.Unhealthy, [HostingExtensions.ReadyTag]));
        builder.Services.AddScoped<ModelRegistry>();
        builder.Services.AddScoped<RiskScoring>();
        builder.Services.AddScoped<SignalArrivals>();
        builder.Services.AddScoped<StudentSignalsReader>();
        builder.Services.AddSingleton<District>();
        builder.Services.AddScoped<DistrictThresholds>();
        builder.Services.AddScoped<SchoolCapacity>();
        builder.Services.AddSingleton<CapacityLineCache>();
        builder.Services.AddScoped<BatchRescoring>();
        builder.Services.AddOptions<NightlyRescoreOptions>().Bind(builder.Configuration.GetSection("EarlyWarning:Scoring"))
            .Validate(o => o.TryGetAt(out _), NightlyRescoreOptions.InvalidMessage).ValidateOnStart();
        builder.Services.AddScheduledJobs<Storage.EarlyWarningDbContext>();
        builder.Services.AddHostedService<NightlyRescoreService>();
        return builder;
    }
}
