using Beacon.Contracts.Events;
using Beacon.Interventions.Domain;
using Beacon.Interventions.Storage;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Interventions.Consumers;

/// <summary>
/// Keeps each student's latest risk band per kind as Early warning scored it: the strata (school × risk band) in which
/// tests of change assign their arms. The newest score of a kind wins; an older copy arriving late changes nothing.
/// </summary>
public sealed class RiskScoresChangedConsumer(InterventionsDbContext db) : IConsumer<RiskScoresChanged>
{
    public async Task Consume(ConsumeContext<RiskScoresChanged> context)
    {
        var ct = context.CancellationToken;
        var latest = context.Message.Records.GroupBy(r => (r.StudentId, r.Kind)).Select(g => g.MaxBy(r => r.ScoredAt)!).ToList();
        var ids = latest.Select(r => r.StudentId).Distinct().ToList();
        var stored = await db.RiskBands.Where(b => ids.Contains(b.StudentId)).ToDictionaryAsync(b => (b.StudentId, b.Kind), ct);
        foreach (var r in latest)
        {
            if (!stored.TryGetValue((r.StudentId, r.Kind), out var row))
            {
                db.RiskBands.Add(new StudentRiskBand { StudentId = r.StudentId, Kind = r.Kind, Band = r.Band, Score = r.Score, ScoredAt = r.ScoredAt });
            }
            else if (r.ScoredAt >= row.ScoredAt)
            {
                (row.Band, row.Score, row.ScoredAt) = (r.Band, r.Score, r.ScoredAt);
            }
        }
        await db.SaveChangesAsync(ct);
    }
}
