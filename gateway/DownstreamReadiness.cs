using Beacon.ServiceDefaults;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Yarp.ReverseProxy;

namespace Beacon.Gateway;

/// <summary>
/// The gateway is ready only when every service behind it is: it asks each destination that names a
/// Health address for its /healthz/ready. One address a user needs, one readiness answer. The destinations are
/// the resolved ones (a cluster names a service, http://ingestion/; service discovery gives its address).
/// </summary>
public sealed class DownstreamReadiness(IProxyStateLookup proxy, IHttpClientFactory httpClients) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var client = httpClients.CreateClient(nameof(DownstreamReadiness));
        var probes = proxy.GetClusters()
            .SelectMany(c => c.Destinations.Values.Select(d => (Cluster: c.ClusterId, d.Model.Config.Health)))
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
    public const string XapiStatementsPolicy = "xapi-statements";

    public static IHostApplicationBuilder AddGateway(this IHostApplicationBuilder builder)
    {
        // Clusters name the services (http://ingestion/, http://_grpc.ingestion/); their addresses are services:<name>:http:0
        // and :grpc:0, which topology.json gives a local run and the chart gives Kubernetes.
        builder.Services.AddServiceDiscovery();
        builder.Services.AddReverseProxy().LoadFromConfig(builder.Configuration.GetSection("ReverseProxy")).AddServiceDiscoveryDestinationResolver();
        builder.Services.AddHttpClient(nameof(DownstreamReadiness), c => c.Timeout = TimeSpan.FromSeconds(2));
        builder.Services.AddHealthChecks().AddCheck<DownstreamReadiness>("services", tags: [HostingExtensions.ReadyTag]);
        // The xAPI statement resource (route ingestion-xapi-statements): LMS plugins send HTTP Basic keys that only Ingestion
        // can check (it issued them), so a request carrying Basic credentials goes through to that route alone and Ingestion
        // answers 401 to a wrong one; a bearer token is checked here as everywhere, and a request with neither stops here.
        builder.Services.AddAuthorizationBuilder().AddPolicy(XapiStatementsPolicy, p => p.RequireAssertion(context =>
            context.User.Identity?.IsAuthenticated == true
            || (context.Resource is HttpContext http && http.Request.Headers.Authorization.ToString().StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))));
        return builder;
    }
}
