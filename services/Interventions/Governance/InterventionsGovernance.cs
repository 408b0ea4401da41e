using Beacon.Governance;
using Beacon.Interventions.Storage;
using Beacon.Messaging;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Interventions.Governance;

/// <summary>
/// Erases a student from Interventions: their cases are deleted with their alerts links, notes and activity
/// (free text about the student cannot be pseudonymised reliably, so it goes), the attendance projection, their family contacts, risk bands and daily risk scores, test-of-change assignments and
/// the outbox events about them. The effect report then no longer counts those cases.
/// </summary>
public sealed class StudentErasureConsumer(InterventionsDbContext db, ErasedStudentsCache tombstones, TimeProvider clock)
    : StudentErasureConsumer<InterventionsDbContext>(db, tombstones, clock)
{
    protected override string Service => "interventions";

    protected override async Task<Dictionary<string, int>> DeleteRowsAsync(string studentId, CancellationToken ct)
    {
        var cases = Db.Cases.Where(c => c.StudentId == studentId).Select(c => c.CaseId);
        return new Dictionary<string, int>
        {
            ["CaseAlerts"] = await Db.CaseAlerts.Where(a => cases.Contains(a.CaseId)).ExecuteDeleteAsync(ct),
            ["Activity"] = await Db.Activity.Where(a => cases.Contains(a.CaseId)).ExecuteDeleteAsync(ct),
            ["Cases"] = await Db.Cases.Where(c => c.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["Attendance"] = await Db.Attendance.Where(a => a.StudentId == studentId).ExecuteDeleteAsync(ct),
            // A group intervention is about a skill and many students: the student leaves it, the group stays.
            ["GroupMembers"] = await Db.GroupMembers.Where(m => m.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["SectionPeople"] = await Db.SectionPeople.Where(p => p.PersonId == studentId).ExecuteDeleteAsync(ct),
            ["Subgroups"] = await Db.Subgroups.Where(s => s.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["FamilyContacts"] = await Db.FamilyContacts.Where(c => c.StudentId == studentId).ExecuteDeleteAsync(ct),
            // A test of change is about many students: the student leaves it (and its report), the test stays.
            ["ChangeTestAssignments"] = await Db.ChangeTestAssignments.Where(a => a.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["RiskBands"] = await Db.RiskBands.Where(b => b.StudentId == studentId).ExecuteDeleteAsync(ct),
            ["RiskScoreDays"] = await Db.RiskScoreDays.Where(p => p.StudentId == studentId).ExecuteDeleteAsync(ct),
        };
    }
}

public static class InterventionsGovernance
{
    /// <summary>The erasure consumer and the tombstone filter on every consumer; call inside AddServiceBus.</summary>
    public static IBusRegistrationConfigurator AddInterventionsErasure(this IBusRegistrationConfigurator bus) =>
        bus.AddStudentErasure<StudentErasureConsumer, InterventionsDbContext>();

    /// <summary>
    /// Retention:EndedCases (cases completed or closed before the cutoff, with their notes, activity and alert
    /// links; active cases are never purged), Retention:AttendanceDays, Retention:RiskScoreDays (the daily risk scores the
    /// risk-score effect reads), Retention:OutboxSent, Retention:ProcessedMessages.
    /// </summary>
    public static IHostApplicationBuilder AddInterventionsRetention(this IHostApplicationBuilder builder) =>
        builder.AddRetention(
            new("EndedCases", (sp, cutoff, ct) => PurgeEndedCasesAsync(sp.GetRequiredService<InterventionsDbContext>(), cutoff, ct)),
            new("AttendanceDays", (sp, cutoff, ct) => sp.GetRequiredService<InterventionsDbContext>().DeleteOlderThanAsync<AttendanceDay>(a => a.Date, cutoff, ct)),
            new("RiskScoreDays", (sp, cutoff, ct) => sp.GetRequiredService<InterventionsDbContext>().DeleteOlderThanAsync<RiskScoreDay>(p => p.Day, cutoff, ct)),
            OutboxErasure.OutboxSentRule<InterventionsDbContext>(),
            OutboxErasure.InboxRule<InterventionsDbContext>());

    private static async Task<int> PurgeEndedCasesAsync(InterventionsDbContext db, DateTimeOffset cutoff, CancellationToken ct)
    {
        // EndedAt is compared in memory (SQLite cannot compare DateTimeOffset); ended cases are few next to signals.
        var ended = (await db.Cases.AsNoTracking().Where(c => c.EndedAt != null).Select(c => new { c.CaseId, c.EndedAt }).ToListAsync(ct))
            .Where(c => c.EndedAt < cutoff).Select(c => c.CaseId).ToList();
        var deleted = 0;
        foreach (var batch in ended.Chunk(500))
        {
            await db.CaseAlerts.Where(a => batch.Contains(a.CaseId)).ExecuteDeleteAsync(ct);
            await db.Activity.Where(a => batch.Contains(a.CaseId)).ExecuteDeleteAsync(ct);
            deleted += await db.Cases.Where(c => batch.Contains(c.CaseId)).ExecuteDeleteAsync(ct);
        }
        return deleted;
    }
}
