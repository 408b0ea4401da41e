using Beacon.Governance;
using Beacon.Mastery.Apis;
using Beacon.Mastery.Consumers;
using Beacon.Mastery.Domain;
using Beacon.Mastery.Governance;
using Beacon.Mastery.Grpc;
using Beacon.Mastery.Storage;
using Beacon.Messaging;
using Beacon.ServiceDefaults;

namespace Beacon.Mastery;

/// <summary>What Mastery is made of: its database, its answer consumers, knowledge tracing and its scheduled refit, its APIs.</summary>
internal static class Extensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddServiceApi<MasteryDbContext>("mastery");
        builder.AddServiceBus("mastery", bus =>
        {
            bus.AddRecordConsumers<ItemResponseRecordedConsumer, ItemResponseBatchRecordedConsumer>(typeof(ItemResponseRecordedConsumerDefinition));
            bus.AddConsumer<StudentEnrolledConsumer>(typeof(GatheredRecordsDefinition<StudentEnrolledConsumer>));
            bus.AddConsumer<SectionRosterRecordedConsumer>();
            bus.AddConsumer<LearningRecordVoidedConsumer>(typeof(LearningRecordVoidedConsumerDefinition));
            bus.AddMasteryErasure();
        });
        builder.Services.AddOutboxRelay<MasteryDbContext>();
        builder.AddMasteryRetention();
        builder.Services.Configure<MasteryOptions>(builder.Configuration.GetSection("Mastery"));
        builder.Services.AddScoped<SkillRefitter>();
        builder.Services.AddScoped<MasteryTracker>();
        builder.Services.AddScoped<AnswerUpdates>();
        builder.Services.AddScoped<EnrolmentUpserts>();
        builder.Services.AddScoped<VoidedAnswers>();
        builder.Services.AddHostedService<ScheduledRefit>();
        return builder;
    }

    public static WebApplication MapApplicationApis(this WebApplication app)
    {
        app.MapDefaultOpenApi();
        app.MapSkillsApi();
        app.MapMasteryApi();
        app.MapSectionsApi();
        app.MapRetentionEndpoint("/api/mastery/v1");
        app.MapGrpcService<MasteryGrpcService>();
        return app;
    }
}
