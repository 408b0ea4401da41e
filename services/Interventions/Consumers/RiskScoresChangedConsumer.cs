using Beacon.Contracts.Events;
using Beacon.Interventions.Domain;
using Beacon.Interventions.Storage;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Interventions.Consumers;

/// <summary>
/// Keeps each student's latest risk band per kind as Early warning scored it (the strata in which tests of change assign
/// their arms) and one score per student, kind and day (the history the risk-score effect is measured on). The newest
/// score wins, of a kind and of a day: an older copy arriving late, or the same message again, changes nothing.
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
        await KeepDailyScoresAsync(context.Message.Records, ct);
        await db.SaveChangesAsync(ct);
    }

    private async Task KeepDailyScoresAsync(IReadOnlyList<RiskScoreChanged> records, CancellationToken ct)
    {
        // The day is the UTC date of the scoring: the same date for every replica and every replay.
        var newest = records.GroupBy(r => (r.StudentId, r.Kind, Day: DateOnly.FromDateTime(r.ScoredAt.UtcDateTime))).Select(g => (g.Key.Day, Record: g.MaxBy(r => r.ScoredAt)!)).ToList();
        var ids = newest.Select(n => n.Record.StudentId).Distinct().ToList();
        var days = newest.Select(n => n.Day).Distinct().ToList();
        var stored = await db.RiskScoreDays.Where(p => ids.Contains(p.StudentId) && days.Contains(p.Day)).ToDictionaryAsync(p => (p.StudentId, p.Kind, p.Day), ct);
        foreach (var (day, r) in newest)
        {
            if (!stored.TryGetValue((r.StudentId, r.Kind, day), out var point))
            {
                db.RiskScoreDays.Add(new RiskScoreDay { StudentId = r.StudentId, Kind = r.Kind, Day = day, SchoolId = r.SchoolId, Score = r.Score, ScoredAt = r.ScoredAt });
            }
            else if (r.ScoredAt >= point.ScoredAt)
            {
                (point.SchoolId, point.Score, point.ScoredAt) = (r.SchoolId, r.Score, r.ScoredAt);
            }
        }
    }
}
