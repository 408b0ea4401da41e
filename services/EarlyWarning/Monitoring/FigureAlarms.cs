using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.Messaging;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.EarlyWarning.Monitoring;

/// <summary>
/// The daily look at the active model's latest week beyond drift and the realised FPR rule: the expected false-positive
/// rate leaving its band (works before any label) and a subgroup gap above its bound. Each is an event for ops; its id is
/// stable per model version and week (and attribute and measure), so the next day's look raises nothing new.
/// </summary>
public sealed class FigureAlarms(EarlyWarningDbContext db, MonitoringReport report, IOptions<MonitoringOptions> options, TimeProvider clock)
{
    public async Task<string> CheckAsync(string kind, CancellationToken ct)
    {
        var o = options.Value;
        var active = await db.Models.AsNoTracking().FirstOrDefaultAsync(m => m.Kind == kind && m.Status == ModelStatus.Active, ct);
        if (active is null)
        {
            return "no active model";
        }
        var latest = (await report.WeeklyAsync(kind, ct)).Where(w => w.ModelVersion == active.Version).MaxBy(w => w.WeekStart);
        if (latest is null)
        {
            return "no weekly scores";
        }
        var now = clock.GetUtcNow();
        var raised = new List<string>();
        var expected = latest.ExpectedFalsePositiveRate;
        if ((o.ExpectedFprLow is { } low && expected < low) || (o.ExpectedFprHigh is { } high && expected > high))
        {
            db.Publish(new ExpectedFalsePositiveRateOutOfBand(StableId("expected-fpr", active.ModelId.ToString(), latest.WeekStart.ToString("O")),
                kind, active.ModelId, active.Version, latest.WeekStart, expected, o.ExpectedFprLow ?? 0, o.ExpectedFprHigh ?? 1, now));
            raised.Add($"expected FPR {expected:P1} out of band");
        }
        if (o.SubgroupGapBound is { } bound)
        {
            var fairness = await report.FairnessAsync(kind, active.Version, latest.WeekStart, ct);
            foreach (var gap in fairness.Report.Gaps.Where(g => g.Gap > bound))
            {
                db.Publish(new SubgroupGapExceeded(StableId("gap", active.ModelId.ToString(), latest.WeekStart.ToString("O"), gap.Attribute, gap.Measure),
                    kind, active.ModelId, active.Version, latest.WeekStart, gap.Attribute, gap.Measure, gap.Gap, bound, gap.HighestGroup, gap.LowestGroup, now));
                raised.Add($"{gap.Measure} gap {gap.Gap:P1} by {gap.Attribute}");
            }
        }
        await db.SaveChangesAsync(ct);
        return raised.Count == 0 ? "figures within bounds" : string.Join(", ", raised);
    }

    private static Guid StableId(params string[] parts) =>
        new(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(string.Join('\u001f', parts))));
}
