using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Beacon.Messaging;

public static class BusExtensions
{
    /// <summary>
    /// MassTransit over RabbitMQ (ConnectionStrings:RabbitMQ, an amqp:// URI; default the local broker).
    /// Queues are prefixed with the service name so two services never compete for one queue; Bus:QueuePrefix
    /// adds an instance prefix (tests, side-by-side runs) and Bus:TemporaryQueues makes them auto-delete.
    /// Bus:ExchangePrefix prefixes the exchanges, which MassTransit names by message type: services on one broker
    /// hear each other only when they share it (tests hosting many services side by side on one virtual host).
    /// Failed messages are retried with back-off, then moved to the queue's _error queue.
    /// </summary>
    public static IHostApplicationBuilder AddServiceBus(this IHostApplicationBuilder builder, string serviceName,
        Action<IBusRegistrationConfigurator>? configureConsumers = null)
    {
        var uri = new Uri(builder.Configuration.GetConnectionString("RabbitMQ") ?? "amqp://guest:guest@127.0.0.1:5672/");
        builder.Services.AddMassTransit(x =>
        {
            var prefix = builder.Configuration["Bus:QueuePrefix"];
            x.SetEndpointNameFormatter(new KebabCaseEndpointNameFormatter(
                string.IsNullOrEmpty(prefix) ? serviceName : $"{prefix}-{serviceName}", includeNamespace: false));
            if (builder.Configuration.GetValue<bool>("Bus:TemporaryQueues"))
            {
                x.AddConfigureEndpointsCallback((_, endpoint) =>
                {
                    if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
                    {
                        rabbit.AutoDelete = true;
                        rabbit.Durable = false;
                    }
                });
            }
            // MassTransit 8.5 reports usage to its vendor by default: a school's platform sends nothing out.
            x.DisableUsageTelemetry();
            configureConsumers?.Invoke(x);
            x.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(uri);
                if (builder.Configuration["Bus:ExchangePrefix"] is { Length: > 0 } exchangePrefix)
                {
                    cfg.MessageTopology.SetEntityNameFormatter(new PrefixEntityNameFormatter(cfg.MessageTopology.EntityNameFormatter, exchangePrefix + "."));
                }
                // About a minute of retries (0.2 s, 0.5 s, 1 s, 2 s, 5 s, 10 s, 19 s, 30 s): long enough to ride out a
                // restart of a service the consumer calls or of its database; then the message goes to the _error queue.
                cfg.UseMessageRetry(r => r.Exponential(8, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(300)));
                cfg.ConfigureEndpoints(context);
            });
        });
        // MassTransit's traces and metrics join the service's telemetry (AddServiceDefaults sets it up).
        builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddSource("MassTransit"));
        builder.Services.ConfigureOpenTelemetryMeterProvider(m => m.AddMeter("MassTransit"));
        builder.Services.Configure<MassTransitHostOptions>(o =>
        {
            o.WaitUntilStarted = false;
            o.StopTimeout = TimeSpan.FromSeconds(20);
        });
        return builder;
    }
}

public static class Partitioning
{
    /// <summary>A stable partition key for a student id, so one student's messages are handled one at a time.</summary>
    public static Guid ForStudent(string studentId) =>
        new(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(studentId)));
}
