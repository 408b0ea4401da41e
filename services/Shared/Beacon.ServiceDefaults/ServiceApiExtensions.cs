using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Beacon.ServiceDefaults;

public static class ServiceApiExtensions
{
    /// <summary>
    /// What every service behind the gateway has besides the hosting defaults, so each service's own registrations
    /// start after it: problem answers, authentication, the OpenAPI document, its own database, the clock, and gRPC
    /// (between services; REST routes are minimal APIs in each service's Apis/ folder, see <see cref="GrpcRest"/>).
    /// </summary>
    public static IHostApplicationBuilder AddServiceApi<TContext>(this IHostApplicationBuilder builder, string databaseName)
        where TContext : DbContext
    {
        builder.AddDefaultProblemHandlers();
        builder.AddServiceAuthentication();
        builder.AddDefaultOpenApi();
        builder.AddServiceDatabase<TContext>(databaseName);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddGrpc();
        // The processes a service calls are resolved by name (services:<name>:grpc:0, from topology.json or the chart).
        builder.Services.AddServiceDiscovery();
        return builder;
    }
}
