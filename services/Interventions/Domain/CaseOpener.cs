using Beacon.Contracts.Events;
using Beacon.Interventions.Storage;
using Beacon.Messaging;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Beacon.Interventions.Domain;

/// <summary>Opens a case (from an alert or by hand) with its contact deadline, and queues InterventionCaseOpened.</summary>
public sealed class CaseOpener(InterventionsDbContext db, IOptions<InterventionsOptions> options, TimeProvider clock)
{
    public InterventionCase Open(string studentId, string schoolId, string reason, string openedBy, Guid? alertId)
    {
        var now = clock.GetUtcNow();
        var opened = new InterventionCase
        {
            CaseId = NewId.NextGuid(),
            StudentId = studentId,
            SchoolId = schoolId,
            Reason = reason,
            OpenedAt = now,
            OpenedBy = openedBy,
            ContactDueBy = options.Value.Calendar().AddSchoolDays(DateOnly.FromDateTime(now.UtcDateTime), options.Value.ContactWithinSchoolDays),
        };
        CaseWorkflow.Log(opened, now, ActivityKinds.Opened, openedBy, reason);
        db.Cases.Add(opened);
        db.Publish(new InterventionCaseOpened(opened.CaseId, alertId, studentId, schoolId, now));
        return opened;
    }
}
