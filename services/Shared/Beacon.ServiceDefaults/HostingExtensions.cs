using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Beacon.ServiceDefaults;

public static class HostingExtensions
{
    /// <summary>Tag for checks that must pass before a service takes traffic.</summary>
    public const string ReadyTag = "ready";

    /// <summary>Where it listens and whom it calls (topology.json), logging, telemetry, health checks and problem details, the same in every service.</summary>
    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder)
    {
        builder.AddTopology();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.AddCredentialRedaction();

        // Traces and metrics only where a collector takes them (Kubernetes: the chart's otel.endpoint). Without one nothing
        // reads them, yet every request would still build its activities (inbound and outbound) and record its histograms.
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Services.AddOpenTelemetry()
                .ConfigureResource(r => r.AddService(builder.Environment.ApplicationName))
                .WithTracing(t => t
                    .AddAspNetCoreInstrumentation(o => o.Filter = ctx => !ctx.Request.Path.StartsWithSegments("/healthz"))
                    .AddHttpClientInstrumentation())
                .WithMetrics(m => m
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation())
                .UseOtlpExporter();
        }
        else
        {
            // Nor an activity per request: ASP.NET Core starts one for each request whenever its hosting logger is on (at
            // any level), and HttpClient one for each call it sends, with the trace headers written into it; with nothing
            // collecting them that was about 1 KB and a traceparent header per proxied request at the gateway (#24 item 1).
            builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
            AppContext.SetSwitch("System.Net.Http.EnableActivityPropagation", false);
        }

        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy());
        builder.Services.AddProblemDetails();

        // SIGTERM (Kubernetes, Ctrl-C): Kestrel stops accepting, finishes the requests in flight and the bus
        // finishes the messages in hand (MassTransitHostOptions.StopTimeout) within this bound, below
        // Kubernetes' default 30 s grace period. Beacon:ShutdownTimeout overrides it.
        builder.Services.Configure<HostOptions>(o =>
            o.ShutdownTimeout = builder.Configuration.GetValue("Beacon:ShutdownTimeout", TimeSpan.FromSeconds(25)));
        return builder;
    }

    /// <summary>
    /// What is not a bug gets problem details, not a 500, in every service: an unreadable body is a 400
    /// (<see cref="UnreadableBodyHandler"/>), a busy SQLite or an unavailable PostgreSQL a 503 with Retry-After (<see cref="DatabaseBusyHandler"/>).
    /// </summary>
    public static IHostApplicationBuilder AddDefaultProblemHandlers(this IHostApplicationBuilder builder)
    {
        builder.Services.AddExceptionHandler<UnreadableBodyHandler>();
        builder.Services.AddExceptionHandler<DatabaseBusyHandler>();
        // A body or query value a minimal API cannot bind then throws, so the handler names it; otherwise
        // (outside Development) the answer is a 400 with an empty body.
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        // First in the pipeline, so it also covers the middleware each Program.cs adds.
        builder.Services.AddTransient<IStartupFilter, ExceptionHandlerFirst>();
        return builder;
    }

    private sealed class ExceptionHandlerFirst : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.UseExceptionHandler();
            next(app);
        };
    }

    /// <summary>/healthz/live answers while the process runs; /healthz/ready once storage and bus are up.</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        // Probes come from the kubelet and the gateway, which hold no user token.
        app.MapHealthChecks("/healthz/live", new HealthCheckOptions { Predicate = c => c.Name == "self" }).AllowAnonymous();
        app.MapHealthChecks("/healthz/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag) }).AllowAnonymous();
        return app;
    }
}
