using Beacon.Interventions.Storage;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Interventions.Domain;

/// <summary>What the attendance effect is measured on: the completed cases, the school days around them, when each student's first case opened.</summary>
public sealed record EffectInput(List<TreatedCase> Treated, List<AttendanceFact> Days, Dictionary<string, DateOnly> FirstCaseOpened);

/// <summary>
/// Loads ended interventions and what measuring them needs (the attendance projection, the daily risk scores), and runs
/// <see cref="EffectEstimator"/> or <see cref="RiskEffectEstimator"/>.
/// </summary>
public sealed class EffectReport(InterventionsDbContext db)
{
    public async Task<List<EffectRow>> BuildAsync(EffectSettings settings, string? schoolId, CancellationToken ct) =>
        await LoadAsync(settings, schoolId, ct) is { } input ? EffectEstimator.Estimate(input.Treated, input.Days, input.FirstCaseOpened, settings) : [];

    /// <summary>The completed cases with a plan (of one school, or all) and what measuring them needs; null when there are none.</summary>
    public async Task<EffectInput?> LoadAsync(EffectSettings settings, string? schoolId, CancellationToken ct)
    {
        var completed = await TreatedAsync([CaseStatuses.Completed], schoolId, ct);
        if (completed.Count == 0)
        {
            return null;
        }
        var margin = (settings.WindowWeeks + settings.MatchingWeeks) * 7;
        var from = completed.Min(c => c.StartDate).AddDays(-margin);
        var to = completed.Max(c => c.StartDate).AddDays(settings.WindowWeeks * 7);
        var schools = completed.Select(c => c.SchoolId).Distinct().ToList();
        var days = await db.Attendance.AsNoTracking()
            .Where(a => schools.Contains(a.SchoolId) && a.Date >= from && a.Date < to)
            .Select(a => new AttendanceFact(a.StudentId, a.SchoolId, a.Date, a.Attended))
            .ToListAsync(ct);
        return new EffectInput(completed, days, await FirstCaseOpenedAsync(schools, ct));
    }

    /// <summary>
    /// The risk-score effect of the completed and closed cases with a plan (a closed case was worked on too, and what it did
    /// to the risk counts as much as a completed one's), per risk kind and intervention type.
    /// </summary>
    public async Task<List<RiskEffectRow>> BuildRiskAsync(RiskEffectSettings settings, string? schoolId, CancellationToken ct)
    {
        var ended = await TreatedAsync([CaseStatuses.Completed, CaseStatuses.Closed], schoolId, ct);
        if (ended.Count == 0)
        {
            return [];
        }
        var from = ended.Min(c => c.StartDate).AddDays(-7 * (settings.WindowWeeks + settings.MatchingWeeks));
        var to = ended.Max(c => c.StartDate).AddDays(settings.WindowWeeks * 7);
        var schools = ended.Select(c => c.SchoolId).Distinct().ToList();
        var points = await db.RiskScoreDays.AsNoTracking()
            .Where(p => schools.Contains(p.SchoolId) && p.Day >= from && p.Day < to)
            .Select(p => new RiskPoint(p.StudentId, p.SchoolId, p.Kind, p.Day, p.Score))
            .ToListAsync(ct);
        return RiskEffectEstimator.Estimate(ended, points, await FirstCaseOpenedAsync(schools, ct), settings);
    }

    private async Task<List<TreatedCase>> TreatedAsync(string[] statuses, string? schoolId, CancellationToken ct)
    {
        var query = db.Cases.AsNoTracking().Where(c => statuses.Contains(c.Status) && c.Plan != null);
        if (!string.IsNullOrEmpty(schoolId))
        {
            query = query.Where(c => c.SchoolId == schoolId);
        }
        return await query.Select(c => new TreatedCase(c.CaseId, c.StudentId, c.SchoolId, c.Plan!.Type, c.Plan.StartDate)).ToListAsync(ct);
    }

    /// <summary>"In an intervention" from the day a case was opened (by alert or by hand), or its plan started if earlier; dates compared as school days.</summary>
    private async Task<Dictionary<string, DateOnly>> FirstCaseOpenedAsync(List<string> schools, CancellationToken ct) =>
        (await db.Cases.AsNoTracking().Where(c => schools.Contains(c.SchoolId)).Select(c => new { c.StudentId, c.OpenedAt, Start = c.Plan != null ? c.Plan.StartDate : (DateOnly?)null }).ToListAsync(ct))
            .GroupBy(c => c.StudentId)
            .ToDictionary(g => g.Key, g => g.Min(c => c.Start is { } s && s < DateOnly.FromDateTime(c.OpenedAt.UtcDateTime) ? s : DateOnly.FromDateTime(c.OpenedAt.UtcDateTime)));
}
