using Beacon.ServiceDefaults;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Yarp.ReverseProxy.Configuration;

namespace Beacon.Gateway;

/// <summary>
/// The gateway is ready only when every service behind it is: it asks each destination that names a
/// Health address for its /healthz/ready. One address a user needs, one readiness answer.
/// </summary>
public sealed class DownstreamReadiness(IProxyConfigProvider proxyConfig, IHttpClientFactory httpClients) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var client = httpClients.CreateClient(nameof(DownstreamReadiness));
        var probes = proxyConfig.GetConfig().Clusters
            .SelectMany(c => (c.Destinations ?? new Dictionary<string, DestinationConfig>()).Select(d => (Cluster: c.ClusterId, d.Value.Health)))
            .Where(d => !string.IsNullOrEmpty(d.Health))
            .Select(async d =>
            {
                try
                {
                    using var response = await client.GetAsync(new Uri(new Uri(d.Health!), "healthz/ready"), cancellationToken);
                    return (d.Cluster, Ready: response.IsSuccessStatusCode);
                }
                catch (HttpRequestException)
                {
                    return (d.Cluster, Ready: false);
                }
                catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    return (d.Cluster, Ready: false);
                }
            });
        var results = await Task.WhenAll(probes);
        var notReady = results.Where(r => !r.Ready).Select(r => r.Cluster).ToList();
        return notReady.Count == 0
            ? HealthCheckResult.Healthy($"{results.Length} services ready")
            : HealthCheckResult.Unhealthy($"Not ready: {string.Join(", ", notReady)}");
    }
}

public static class GatewayExtensions
{
    public static IHostApplicationBuilder AddGateway(this IHostApplicationBuilder builder)
    {
        builder.Services.AddReverseProxy().LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"));
        builder.Services.AddHttpClient(nameof(DownstreamReadiness), c => c.Timeout = TimeSpan.FromSeconds(2));
        builder.Services.AddHealthChecks().AddCheck<DownstreamReadiness>("services", tags: [HostingExtensions.ReadyTag]);
        return builder;
    }
}
