using Beacon.Governance;
using Beacon.Ingestion.Domain;
using Beacon.Ingestion.Storage;
using MassTransit;

namespace Beacon.Ingestion.Governance;

public static class GovernanceExtensions
{
    /// <summary>Erasure (requests, report) and retention of Ingestion's raw data, each kind under Retention:&lt;Kind&gt;.</summary>
    public static IHostApplicationBuilder AddIngestionGovernance(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<GovernanceOptions>(builder.Configuration.GetSection("Governance"));
        builder.Services.AddSingleton<StudentPseudonyms>();
        builder.Services.AddSingleton<ErasedStudentsCache>();
        builder.Services.AddScoped<IngestionErasure>();
        return builder.AddRetention(
            new("AttendanceRecords", (sp, cutoff, ct) => Db(sp).DeleteOlderThanAsync<AttendanceRecord>(a => a.Date, cutoff, ct)),
            new("ItemResponses", (sp, cutoff, ct) => Db(sp).DeleteOlderThanAsync<ItemResponse>(r => r.AnsweredAt, cutoff, ct)),
            new("Grades", (sp, cutoff, ct) => Db(sp).DeleteOlderThanAsync<GradeRecord>(g => g.Date, cutoff, ct)),
            new("BehaviorIncidents", (sp, cutoff, ct) => Db(sp).DeleteOlderThanAsync<BehaviorIncident>(b => b.Date, cutoff, ct)),
            new("LmsActivity", (sp, cutoff, ct) => Db(sp).DeleteOlderThanAsync<LmsActivity>(a => a.Timestamp, cutoff, ct)),
            new("XapiStatements", (sp, cutoff, ct) => Db(sp).DeleteOlderThanAsync<XapiStatement>(s => s.Stored, cutoff, ct)),
            new("Quarantine", (sp, cutoff, ct) => Db(sp).DeleteOlderThanAsync<QuarantinedRow>(q => q.ReceivedAt, cutoff, ct)),
            new("BatchReceipts", (sp, cutoff, ct) => Db(sp).DeleteOlderThanAsync<IngestionBatch>(b => b.Day, cutoff, ct)),
            OutboxErasure.OutboxSentRule<IngestionDbContext>());
    }

    /// <summary>Ingestion's bus side of erasure: it collects every service's confirmation.</summary>
    public static IBusRegistrationConfigurator AddIngestionGovernanceConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<StudentErasureConfirmedConsumer>();
        return bus;
    }

    private static IngestionDbContext Db(IServiceProvider sp) => sp.GetRequiredService<IngestionDbContext>();
}
