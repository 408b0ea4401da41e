using Beacon.Contracts.Events;
using Beacon.Notifications.Domain;
using Beacon.Notifications.Storage;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Notifications.Consumers;

/// <summary>Tells the new owner and helpers of a case that it is theirs.</summary>
public sealed class InterventionAssignedConsumer(NotificationsDbContext db, Notifier notifier) : IConsumer<InterventionAssigned>
{
    public async Task Consume(ConsumeContext<InterventionAssigned> context)
    {
        var m = context.Message;
        var (who, initials) = await Worklist.StudentLabelsAsync(db, m.StudentId, m.SchoolId, context.CancellationToken);
        // A counselor who took the case themself gets it in their feed worded as what it was, not as an assignment.
        var title = m.AssignedBy == m.OwnerId ? $"You took the case of {who}" : $"Case of {who} assigned to {m.OwnerId}";
        var notice = new Notice(Notifier.StableId("assigned", m.CaseId.ToString(), m.OwnerId, m.AssignedAt.ToString("O")), EventKinds.CaseAssigned, m.StudentId,
            title,
            $"{m.AssignedBy} assigned the outreach case {m.CaseId} to {m.OwnerId}{(m.HelperIds.Count > 0 ? $" with helpers {string.Join(", ", m.HelperIds)}" : "")}.",
            $"case of {initials} assigned to {m.OwnerId}");
        await notifier.NotifyAsync([m.OwnerId, .. m.HelperIds], notice, context.CancellationToken);
        await db.SaveChangesAsync(context.CancellationToken);
    }
}

/// <summary>Escalates an overdue case to the school's coordinators (from the staff projection), and reminds its owner.</summary>
public sealed class InterventionOverdueConsumer(NotificationsDbContext db, Notifier notifier) : IConsumer<InterventionOverdue>
{
    public const string CoordinatorRole = "coordinator";

    public async Task Consume(ConsumeContext<InterventionOverdue> context)
    {
        var m = context.Message;
        var ct = context.CancellationToken;
        var (who, initials) = await Worklist.StudentLabelsAsync(db, m.StudentId, m.SchoolId, ct);
        var notice = new Notice(Notifier.StableId("overdue", m.CaseId.ToString(), m.ContactDueBy.ToString("O")), EventKinds.CaseOverdue, m.StudentId,
            $"Overdue: {who} not contacted",
            $"Case {m.CaseId} had to be contacted by {m.ContactDueBy:yyyy-MM-dd} and is {m.SchoolDaysOverdue} school day(s) late. Owner: {m.OwnerId ?? "nobody assigned"}.",
            $"overdue: {initials} not contacted, {m.SchoolDaysOverdue} school day(s) late");
        var coordinators = await db.Staff.Where(s => s.SchoolId == m.SchoolId && s.Role == CoordinatorRole).Select(s => s.StaffId).ToListAsync(ct);
        if (coordinators.Count == 0)
        {
            await notifier.RecordUndeliverableAsync(notice, $"No coordinator on the roster for school '{m.SchoolId}' to escalate to.", ct);
        }
        var recipients = m.OwnerId is null ? coordinators : [.. coordinators, m.OwnerId];
        if (recipients.Count > 0)
        {
            await notifier.NotifyAsync(recipients, notice, ct);
        }
        await db.SaveChangesAsync(ct);
    }
}

/// <summary>Keeps the staff projection (role, email address, mobile number) current, and makes the next alert ask the roster again.</summary>
public sealed class StaffAssignedConsumer(NotificationsDbContext db, SchoolCounselors schoolCounselors) : IConsumer<StaffAssigned>
{
    public async Task Consume(ConsumeContext<StaffAssigned> context)
    {
        var m = context.Message;
        await UpsertAsync(db, m.StaffId, m.SchoolId, m.Role, $"{m.GivenName} {m.FamilyName}".Trim(), m.Email, m.Phone, context.CancellationToken);
        await db.SaveChangesAsync(context.CancellationToken);
        schoolCounselors.ForgetAll();
    }

    /// <param name="phone">The roster's mobile number (E.164, checked by Ingestion); null or empty when it has none.</param>
    public static async Task UpsertAsync(NotificationsDbContext db, string staffId, string schoolId, string role, string name, string email, string? phone,
        CancellationToken ct)
    {
        phone = string.IsNullOrEmpty(phone) ? null : phone;
        var staff = db.Staff.Local.FirstOrDefault(s => s.StaffId == staffId) ?? await db.Staff.FindAsync([staffId], ct);
        if (staff is null)
        {
            db.Staff.Add(new StaffMember { StaffId = staffId, SchoolId = schoolId, Role = role, Name = name, Email = email, Phone = phone });
            return;
        }
        staff.SchoolId = schoolId;
        staff.Role = role;
        staff.Name = name;
        staff.Email = email;
        staff.Phone = phone;
        staff.Source = null;   // on the roster now: the roster says who they are
    }
}

/// <summary>
/// A staff member left the roster: their roster entry goes, so nothing more is sent to them, and the next alert asks
/// the roster again who counsels the school. An entry the directory setting or their own sign-in made is not the
/// roster's to remove. Their feed and settings stay until retention takes them (they may be asked for).
/// </summary>
public sealed class StaffLeftConsumer(NotificationsDbContext db, SchoolCounselors schoolCounselors) : IConsumer<StaffLeft>
{
    public async Task Consume(ConsumeContext<StaffLeft> context)
    {
        await db.Staff.Where(s => s.StaffId == context.Message.StaffId && s.Source == null).ExecuteDeleteAsync(context.CancellationToken);
        schoolCounselors.ForgetAll();
    }
}
