using Beacon.Contracts.Events;
using Beacon.Contracts.Ingestion;
using Beacon.Notifications.Domain;
using Beacon.Notifications.Storage;
using Grpc.Core;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Notifications.Consumers;

/// <summary>
/// Puts an alert on the worklist of every counselor of the student's school: one entry per student, updated in
/// place (<see cref="Worklist"/>). Only a material change (a new student, a new kind of reason, a level going up)
/// becomes a notification (feed entry, e-mail, webhook, SMS); a re-crossing after a correction updates the entry
/// silently. The counselors are asked of Ingestion over gRPC (remembered for a short time, see
/// <see cref="SchoolCounselors"/>), and so is the student's name the first time the student appears; if Ingestion
/// is down the message is retried, then parked in the error queue, never dropped. Redelivery changes nothing.
/// </summary>
public sealed class RiskAlertRaisedConsumer(NotificationsDbContext db, Roster.RosterClient roster, SchoolCounselors schoolCounselors, Notifier notifier,
    TimeProvider clock) : IConsumer<RiskAlertRaised>
{
    public const string InAppChannel = Channels.InApp;
    public const string RiskAlertKind = EventKinds.RiskAlert;

    public async Task Consume(ConsumeContext<RiskAlertRaised> context)
    {
        var alert = context.Message;
        var ct = context.CancellationToken;
        var (counselors, fresh) = await schoolCounselors.ForSchoolAsync(roster, alert.SchoolId, ct);
        if (fresh)
        {
            foreach (var c in counselors)
            {
                // The roster's answer is the freshest address we have.
                await StaffAssignedConsumer.UpsertAsync(db, c.StaffId, c.SchoolId, c.Role, $"{c.GivenName} {c.FamilyName}".Trim(), c.Email, c.Phone, ct);
            }
        }
        if (counselors.Count == 0)
        {
            await notifier.NotifyAsync([], new Notice(alert.AlertId, EventKinds.RiskAlert, alert.StudentId, $"Student {alert.StudentId} is at risk", alert.Reason), ct);
            await db.SaveChangesAsync(ct);
            return;
        }

        var entries = await db.Worklist.Where(w => w.StudentId == alert.StudentId).ToListAsync(ct);
        var (name, grade) = entries.FirstOrDefault() is { } known ? (known.StudentName, known.GradeLevel) : await StudentAsync(alert.StudentId, ct);
        var now = clock.GetUtcNow();
        var toTell = new List<(string StaffId, string Title, string Body, string Short)>();
        foreach (var staffId in counselors.Select(c => c.StaffId).Distinct())
        {
            var entry = entries.FirstOrDefault(e => e.StaffId == staffId);
            var isNew = entry is null;
            entry ??= db.Worklist.Add(new WorklistEntry { StaffId = staffId, StudentId = alert.StudentId, SchoolId = alert.SchoolId, FirstRaisedAt = now }).Entity;
            var before = Worklist.Parse(entry.ReasonsJson);
            var (reasons, change) = Worklist.Apply(before, alert);
            if (change == WorklistChange.None)
            {
                continue;
            }
            entry.SchoolId = alert.SchoolId;
            entry.StudentName = name;
            entry.GradeLevel = grade;
            entry.ReasonsJson = Worklist.Format(reasons);
            entry.Level = reasons.Max(r => r.Level);
            entry.ReasonCount = reasons.Count;
            entry.UpdatedAt = now;
            if (change == WorklistChange.Material)
            {
                entry.ChangedAt = now;
                entry.Read = false;
                var reason = reasons.First(r => r.Family == Worklist.FamilyOf(alert.Kind));
                var what = isNew ? "needs a look" : before.Any(r => r.Family == reason.Family) ? $"{reason.Label.ToLowerInvariant()} got worse" : $"new reason: {reason.Label.ToLowerInvariant()}";
                toTell.Add((staffId, $"{Worklist.StudentLabel(name, grade, alert.SchoolId)} — {what}", Worklist.Describe(reason),
                    $"{SmsText.Student(name, alert.StudentId, grade)}: {what}"));
            }
        }
        foreach (var group in toTell.GroupBy(t => (t.Title, t.Body, t.Short)))
        {
            await notifier.NotifyAsync([.. group.Select(t => t.StaffId)],
                new Notice(alert.AlertId, EventKinds.RiskAlert, alert.StudentId, group.Key.Title, group.Key.Body, group.Key.Short), ct);
        }
        await db.SaveChangesAsync(ct);
    }

    /// <summary>Name and grade from the roster; a student the roster does not know keeps their id (the alert is not lost for it).</summary>
    private async Task<(string Name, string Grade)> StudentAsync(string studentId, CancellationToken ct)
    {
        try
        {
            var s = await roster.GetStudentAsync(new GetStudentRequest { StudentId = studentId }, cancellationToken: ct);
            var name = $"{s.GivenName} {s.FamilyName}".Trim();
            return (name.Length > 0 ? name : studentId, s.GradeLevel);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            return (studentId, "");
        }
    }
}
