using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Storage;
using Beacon.ServiceDefaults;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.EarlyWarning.Governance;

/// <summary>
/// Erases a student from Early warning: every row keyed by the student is deleted (attendance projection, risk
/// state, alerts, scores, weekly score snapshots, outcome labels, counselor feedback, demographics) and the
/// outbox events about them. Drift runs and measurements are aggregates without student ids and stay; the
/// weekly monitoring report is computed from the snapshots, so past weeks lose the erased student's row.
/// </summary>
public sealed class StudentErasureConsumer(EarlyWarningDbContext db, ErasedStudentsCache tombstones, TimeProvider clock) : IConsumer<StudentErasureRequested>
{
    public const string Service = "early-warning";

    public async Task Consume(ConsumeContext<StudentErasureRequested> context)
    {
        var (requestId, studentId) = (context.Message.RequestId, context.Message.StudentId);
        var now = clock.GetUtcNow();
        await db.EraseAsync(tombstones, studentId, requestId, now, async ct => new Dictionary<string, int>
        {
            ["AttendanceDays"] = await db.AttendanceDays.Where(d => d.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["RiskStates"] = await db.RiskStates.Where(s => s.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["Alerts"] = await db.Alerts.Where(a => a.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["RiskScores"] = await db.RiskScores.Where(s => s.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["ScoreSnapshots"] = await db.ScoreSnapshots.Where(s => s.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["Outcomes"] = await db.Outcomes.Where(o => o.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["Feedback"] = await db.Feedback.Where(f => f.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["Demographics"] = await db.Demographics.Where(d => d.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["outbox"] = await db.DeleteOutboxOfStudentAsync(studentId, ct),
        }, rows => db.Publish(new StudentErasureConfirmed(requestId, studentId, Service, rows, now)), context.CancellationToken);
    }
}

public static class EarlyWarningGovernance
{
    /// <summary>The erasure consumer and the tombstone filter on every consumer; call inside AddServiceBus.</summary>
    public static IBusRegistrationConfigurator AddEarlyWarningErasure(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<StudentErasureConsumer>();
        bus.AddErasedStudentFilter<EarlyWarningDbContext>();
        return bus;
    }

    /// <summary>Retention:AttendanceDays, RiskScores (current scores not refreshed since the cutoff), ScoreSnapshots, RiskAlerts, Feedback, OutboxSent, ProcessedMessages.</summary>
    public static IHostApplicationBuilder AddEarlyWarningRetention(this IHostApplicationBuilder builder) =>
        builder.AddRetention(
            new("AttendanceDays", (sp, cutoff, ct) => Db(sp).DeleteOlderThanAsync<AttendanceDay>(d => d.Date, cutoff, ct)),
            new("RiskScores", (sp, cutoff, ct) => Db(sp).DeleteOlderThanAsync<StudentRiskScore>(s => s.ScoredAt, cutoff, ct)),
            new("ScoreSnapshots", (sp, cutoff, ct) => Db(sp).DeleteOlderThanAsync<ScoreSnapshot>(s => s.ScoredAt, cutoff, ct)),
            new("RiskAlerts", (sp, cutoff, ct) => Db(sp).DeleteOlderThanAsync<RiskAlert>(a => a.RaisedAt, cutoff, ct)),
            new("Feedback", (sp, cutoff, ct) => Db(sp).DeleteOlderThanAsync<AlertFeedback>(f => f.RecordedAt, cutoff, ct)),
            OutboxErasure.OutboxSentRule<EarlyWarningDbContext>(),
            OutboxErasure.InboxRule<EarlyWarningDbContext>());

    private static EarlyWarningDbContext Db(IServiceProvider sp) => sp.GetRequiredService<EarlyWarningDbContext>();
}
