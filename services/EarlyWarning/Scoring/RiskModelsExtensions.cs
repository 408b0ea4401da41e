namespace Beacon.EarlyWarning.Scoring;

public static class RiskModelsExtensions
{
    /// <summary>Model registry, loaded-model cache and per-student scoring.</summary>
    public static IHostApplicationBuilder AddRiskModels(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<ModelOptions>(builder.Configuration.GetSection("EarlyWarning:Models"));
        builder.Services.AddSingleton<LoadedModels>();
        builder.Services.AddScoped<ModelRegistry>();
        builder.Services.AddScoped<RiskScoring>();
        return builder;
    }
}
