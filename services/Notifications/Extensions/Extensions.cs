using Beacon.Contracts.Ingestion;
using Beacon.Governance;
using Beacon.Messaging;
using Beacon.Notifications.Apis;
using Beacon.Notifications.Consumers;
using Beacon.Notifications.Domain;
using Beacon.Notifications.Governance;
using Beacon.Notifications.Grpc;
using Beacon.Notifications.Outbound;
using Beacon.Notifications.Storage;
using Beacon.ServiceDefaults;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace Beacon.Notifications;

/// <summary>
/// What Notifications is made of: its database, its consumers, the fan-out, the channels (email, webhook, SMS) and
/// their dispatcher, the roster client, its APIs.
/// </summary>
internal static class Extensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddServiceApi<NotificationsDbContext>("notifications");
        builder.AddServiceBus("notifications", bus =>
        {
            bus.AddConsumer<RiskAlertRaisedConsumer>();
            bus.AddConsumer<InterventionAssignedConsumer>();
            bus.AddConsumer<InterventionOverdueConsumer>();
            bus.AddConsumer<StaffAssignedConsumer>();
            bus.AddConsumer<StaffLeftConsumer>();
            bus.AddConsumer<ModelDriftDetectedConsumer>();
            bus.AddConsumer<FalsePositiveRateExceededConsumer>();
            bus.AddConsumer<RetrainingJobFinishedConsumer>();
            bus.AddConsumer<ExpectedFalsePositiveRateOutOfBandConsumer>();
            bus.AddConsumer<SubgroupGapExceededConsumer>();
            bus.AddNotificationsErasure();
        });
        builder.Services.AddOutboxRelay<NotificationsDbContext>();
        builder.AddStreamTickets();
        builder.Services.AddSingleton<FeedBroadcaster>();
        builder.Services.AddSingleton<SchoolCounselors>();
        builder.Services.AddScoped<Notifier>();
        builder.Services.AddScoped<OpsAlarms>();
        builder.Services.AddSingleton<StaffDirectory>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<StaffDirectory>());
        builder.Services.AddScoped<DeliveryDispatch>();
        builder.Services.AddHostedService<DeliveryDispatcher>();
        var section = builder.Configuration.GetSection("Notifications");
        builder.Services.Configure<DeliveryOptions>(section);
        var options = section.Get<DeliveryOptions>() ?? new DeliveryOptions();
        var emailThroughDapr = string.Equals(options.EmailTransport, "dapr", StringComparison.OrdinalIgnoreCase);
        if (!options.SmsOffered && !string.Equals(options.SmsTransport, "none", StringComparison.OrdinalIgnoreCase))
        {
            // A misspelt transport would otherwise turn SMS off without a word.
            throw new InvalidOperationException($"Notifications:SmsTransport is '{options.SmsTransport}'; use none or dapr.");
        }
        if (emailThroughDapr || options.SmsOffered)
        {
            // One client for both bindings: the sidecar beside this pod.
            var endpoint = options.Dapr.GrpcEndpoint is { Length: > 0 } e ? e
                : Environment.GetEnvironmentVariable("DAPR_GRPC_ENDPOINT") ?? "http://127.0.0.1:50001";
            builder.Services.AddSingleton(_ => new Dapr.Client.DaprClientBuilder().UseGrpcEndpoint(endpoint).Build());
        }
        if (emailThroughDapr)
        {
            builder.Services.AddSingleton<IChannelSender, DaprEmailSender>();
        }
        else
        {
            builder.Services.AddSingleton<IChannelSender, EmailSender>();
        }
        if (options.SmsOffered)
        {
            // Without it no sender has the channel: a preference for SMS is refused, and a delivery left from before is dead-lettered.
            builder.Services.AddSingleton<IChannelSender, DaprSmsSender>();
        }
        builder.Services.AddSingleton<IChannelSender, WebhookSender>();
        var webhooks = new WebhookGuard(section.GetSection("Webhooks").Get<WebhookOptions>() ?? new WebhookOptions(), builder.Environment.IsDevelopment());
        builder.Services.AddSingleton(webhooks);
        builder.Services.AddHttpClient(WebhookSender.ClientName)
            .ConfigurePrimaryHttpMessageHandler(webhooks.CreateHandler)
            .AddResilienceHandler("webhook", pipeline =>
            {
                pipeline.AddRetry(new HttpRetryStrategyOptions
                {
                    // A refused destination stays refused: no retry.
                    ShouldHandle = args => args.Outcome.Exception is HttpRequestException { InnerException: WebhookDestinationRefusedException }
                        ? ValueTask.FromResult(false)
                        : ValueTask.FromResult(HttpClientResiliencePredicates.IsTransient(args.Outcome)),
                    MaxRetryAttempts = Math.Max(1, options.InCallRetries),
                    Delay = options.InCallRetryDelay,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                });
                pipeline.AddTimeout(options.WebhookTimeout);
            });
        // Ingestion by name: its gRPC address is services:ingestion:grpc:0 (topology.json locally, the chart in Kubernetes).
        builder.Services.AddGrpcClient<Roster.RosterClient>(o => o.Address = Topology.GrpcAddress("ingestion"))
            .AddServiceDiscovery()
            .AddHttpMessageHandler<ServiceTokenHandler>()
            .AddStandardResilienceHandler();
        builder.AddNotificationsRetention();
        return builder;
    }

    public static WebApplication MapApplicationApis(this WebApplication app)
    {
        app.MapDefaultOpenApi();
        app.MapGrpcService<NotificationsGrpcService>();
        app.UseStaffFromClaims();
        app.MapNotificationsApi();
        app.MapOpsAlarmsApi();
        app.MapRetentionEndpoint("/api/notifications/v1");
        return app;
    }
}
