using Beacon.Contracts.Events;
using Beacon.Messaging;
using Beacon.ServiceDefaults;

namespace Beacon.EarlyWarning.Storage;

public static class RiskAlerts
{
    /// <summary>Stores the alert and publishes its RiskAlertRaised through the outbox, in the same unit of work.</summary>
    public static void Raise(this EarlyWarningDbContext db, RiskAlert alert)
    {
        db.Alerts.Add(alert);
        db.Publish(Raised(alert));
    }

    /// <summary>Many alerts at once (the re-score's chunk), without the change tracker, inside the open transaction.</summary>
    public static async Task RaiseAllAsync(this EarlyWarningDbContext db, IReadOnlyList<RiskAlert> alerts, CancellationToken ct)
    {
        // New ids (NewId), so the upsert inserts; a second alert of the same crossing still fails on its unique index.
        await db.InsertOrUpdateAsync(alerts, ct);
        await db.PublishAllAsync([.. alerts.Select(Raised)], ct);
    }

    private static RiskAlertRaised Raised(RiskAlert alert) =>
        new(alert.AlertId, alert.StudentId, alert.SchoolId, alert.Kind, alert.Reason, alert.Score, alert.RaisedAt);
}
