using Beacon.EarlyWarning.Storage;
using Beacon.Governance;
using Beacon.Messaging;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.EarlyWarning.Governance;

/// <summary>
/// Erases a student from Early warning: every row keyed by the student is deleted (attendance projection and its pack, risk
/// state, alerts, scores, weekly score snapshots, outcome labels, counselor feedback, demographics, course marks,
/// behaviour incidents, LMS activity, skill mastery, behaviour and course indicator states, exits, year outcomes, the roster's name and grade) and the
/// outbox events about them. Drift runs and measurements are aggregates without student ids and stay; the
/// weekly monitoring report is computed from the snapshots, so past weeks lose the erased student's row.
/// </summary>
public sealed class StudentErasureConsumer(EarlyWarningDbContext db, ErasedStudentsCache tombstones, TimeProvider clock)
    : StudentErasureConsumer<EarlyWarningDbContext>(db, tombstones, clock)
{
    protected override string Service => "early-warning";

    protected override async Task<Dictionary<string, int>> DeleteRowsAsync(string studentId, CancellationToken ct) => new()
    {
        ["AttendanceDays"] = await Db.AttendanceDays.Where(d => d.StudentId == studentId).ExecuteDeleteAsync(ct),
        ["AttendancePacks"] = await Db.AttendancePacks.Where(p => p.StudentId == studentId).ExecuteDeleteAsync(ct),
        ["AttendanceVersions"] = await Db.AttendanceVersions.Where(d => d.StudentId == studentId).ExecuteDeleteAsync(ct),
        ["RiskStates"] = await Db.RiskStates.Where(s => s.StudentId == studentId).ExecuteDeleteAsync(ct),
        ["Alerts"] = await Db.Alerts.Where(a => a.StudentId == studentId).ExecuteDeleteAsync(ct),
        ["RiskScores"] = await Db.RiskScores.Where(s => s.StudentId == studentId).ExecuteDeleteAsync(ct),
        ["ScoreSnapshots"] = await Db.ScoreSnapshots.Where(s => s.StudentId == studentId).ExecuteDeleteAsync(ct),
        ["Outcomes"] = await Db.Outcomes.Where(o => o.StudentId == studentId).ExecuteDeleteAsync(ct),
        ["Feedback"] = await Db.Feedback.Where(f => f.StudentId == studentId).ExecuteDeleteAsync(ct),
        ["Demographics"] = await Db.Demographics.Where(d => d.StudentId == studentId).ExecuteDeleteAsync(ct),
        ["CourseMarks"] = await Db.CourseMarks.Where(m => m.StudentId == studentId).ExecuteDeleteAsync(ct),
        ["BehaviorIncidents"] = await Db.BehaviorIncidents.Where(i => i.StudentId == studentId).ExecuteDeleteAsync(ct),
        ["LmsActivity"] = await Db.LmsActivity.Where(a => a.StudentId == studentId).ExecuteDeleteAsync(ct),
        ["SkillMastery"] = await Db.SkillMastery.Where(m => m.StudentId == studentId).ExecuteDeleteAsync(ct),
        ["IndicatorStates"] = await Db.IndicatorStates.Where(s => s.StudentId == studentId).ExecuteDeleteAsync(ct),
        ["StudentExits"] = await Db.StudentExits.Where(e => e.StudentId == studentId).ExecuteDeleteAsync(ct),
        ["YearOutcomes"] = await Db.YearOutcomes.Where(o => o.StudentId == studentId).ExecuteDeleteAsync(ct),
        ["Roster"] = await Db.Roster.Where(r => r.StudentId == studentId).ExecuteDeleteAsync(ct),
    };
}

public static class EarlyWarningGovernance
{
    /// <summary>The erasure consumer and the tombstone filter on every consumer; call inside AddServiceBus.</summary>
    public static IBusRegistrationConfigurator AddEarlyWarningErasure(this IBusRegistrationConfigurator bus) =>
        bus.AddStudentErasure<StudentErasureConsumer, EarlyWarningDbContext>();

    /// <summary>Retention:AttendanceDays (the packs trimmed to the same days), RiskScores (current scores not refreshed since the cutoff), ScoreSnapshots, RiskAlerts, CourseMarks, BehaviorIncidents, LmsActivity, Feedback, OutboxSent, ProcessedMessages.</summary>
    public static IHostApplicationBuilder AddEarlyWarningRetention(this IHostApplicationBuilder builder) =>
        builder.AddRetention(
            new("AttendanceDays", (sp, cutoff, ct) => Db(sp).DeleteAttendanceOlderThanAsync(cutoff, ct)),
            new("AttendanceVersions", (sp, cutoff, ct) => Db(sp).DeleteOlderThanAsync<AttendanceVersion>(d => d.Date, cutoff, ct)),
            new("RiskScores", (sp, cutoff, ct) => Db(sp).DeleteOlderThanAsync<StudentRiskScore>(s => s.ScoredAt, cutoff, ct)),
            new("ScoreSnapshots", (sp, cutoff, ct) => Db(sp).DeleteOlderThanAsync<ScoreSnapshot>(s => s.ScoredAt, cutoff, ct)),
            new("RiskAlerts", (sp, cutoff, ct) => Db(sp).DeleteOlderThanAsync<RiskAlert>(a => a.RaisedAt, cutoff, ct)),
            new("CourseMarks", (sp, cutoff, ct) => Db(sp).DeleteOlderThanAsync<CourseMarkRow>(m => m.Date, cutoff, ct)),
            new("BehaviorIncidents", (sp, cutoff, ct) => Db(sp).DeleteOlderThanAsync<BehaviorIncidentRow>(i => i.Date, cutoff, ct)),
            new("LmsActivity", (sp, cutoff, ct) => Db(sp).DeleteOlderThanAsync<LmsActivityRow>(a => a.Timestamp, cutoff, ct)),
            new("Feedback", (sp, cutoff, ct) => Db(sp).DeleteOlderThanAsync<AlertFeedback>(f => f.RecordedAt, cutoff, ct)),
            OutboxErasure.OutboxSentRule<EarlyWarningDbContext>(),
            OutboxErasure.InboxRule<EarlyWarningDbContext>());

    private static EarlyWarningDbContext Db(IServiceProvider sp) => sp.GetRequiredService<EarlyWarningDbContext>();
}
