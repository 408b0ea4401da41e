using Beacon.EarlyWarning.Scoring;

namespace Beacon.EarlyWarning.Monitoring;

public static class MonitoringExtensions
{
    /// <summary>Drift monitor, labels and feedback, the weekly and subgroup report, the retraining policy and the daily schedule.</summary>
    public static IHostApplicationBuilder AddModelMonitoring(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<MonitoringOptions>().Bind(builder.Configuration.GetSection("EarlyWarning:Monitoring"))
            .Validate(o => o.TryGetAt(out _), MonitoringOptions.InvalidMessage)
            .Validate(o => o.InputAlarmPsi.All(b => ScoredKinds.IsScored(b.Key) && b.Value > 0.25), MonitoringOptions.InvalidInputAlarmMessage).ValidateOnStart();
        builder.Services.AddScoped<DriftMonitor>();
        builder.Services.AddScoped<MonitoringBackfill>();
        builder.Services.AddScoped<Labels>();
        builder.Services.AddScoped<MonitoringReport>();
        builder.Services.AddScoped<MonitoringCharts>();
        builder.Services.AddScoped<RetrainingPolicy>();
        builder.Services.AddScoped<FigureAlarms>();
        builder.Services.AddSingleton<RetrainingRunner>();
        builder.Services.AddHostedService<MonitoringSchedule>();
        return builder;
    }
}
