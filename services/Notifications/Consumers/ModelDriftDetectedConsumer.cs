using Beacon.Contracts.Events;
using Beacon.Notifications.Domain;
using Beacon.Notifications.Storage;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Notifications.Consumers;

/// <summary>
/// Puts a model drift alert in the feed of ops staff: staff with the role "ops" in the staff projection,
/// plus the ids in Notifications:OpsStaff (ops people need not be on a school roster). No student is named.
/// </summary>
public sealed class ModelDriftDetectedConsumer(NotificationsDbContext db, Notifier notifier, IConfiguration configuration) : IConsumer<ModelDriftDetected>
{
    public const string Kind = "model-drift";
    public const string OpsRole = "ops";

    public async Task Consume(ConsumeContext<ModelDriftDetected> context)
    {
        var m = context.Message;
        var ct = context.CancellationToken;
        var configured = configuration.GetSection("Notifications:OpsStaff").Get<string[]>() ?? [];
        var recipients = (await db.Staff.Where(s => s.Role == OpsRole).Select(s => s.StaffId).ToListAsync(ct)).Concat(configured).Distinct().ToList();
        var inputs = m.SignificantInputs.Count > 0 ? $" Inputs drifting significantly: {string.Join(", ", m.SignificantInputs)}." : "";
        var notice = new Notice(m.RunId, Kind, "", $"Model drift: {m.Kind} v{m.ModelVersion}",
            $"On {m.AsOf:yyyy-MM-dd} the score of {m.Kind} v{m.ModelVersion} drifted from its {m.Reference} (PSI {m.ScorePsi:F2} > 0.25) over {m.Students} students.{inputs} "
            + "See /api/early-warning/v1/monitoring/drift.");
        await notifier.NotifyAsync(recipients, notice, ct);
        await db.SaveChangesAsync(ct);
    }
}
