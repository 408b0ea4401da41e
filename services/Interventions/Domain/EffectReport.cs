using Beacon.Interventions.Storage;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Interventions.Domain;

/// <summary>What the attendance effect is measured on: the completed cases, the school days around them, when each student's first case opened.</summary>
public sealed record EffectInput(List<TreatedCase> Treated, List<AttendanceFact> Days, Dictionary<string, DateOnly> FirstCaseOpened);

/// <summary>Loads completed interventions and the attendance projection around them, and runs <see cref="EffectEstimator"/>.</summary>
public sealed class EffectReport(InterventionsDbContext db)
{
    public async Task<List<EffectRow>> BuildAsync(EffectSettings settings, string? schoolId, CancellationToken ct) =>
        await LoadAsync(settings, schoolId, ct) is { } input ? EffectEstimator.Estimate(input.Treated, input.Days, input.FirstCaseOpened, settings) : [];

    /// <summary>The completed cases with a plan (of one school, or all) and what measuring them needs; null when there are none.</summary>
    public async Task<EffectInput?> LoadAsync(EffectSettings settings, string? schoolId, CancellationToken ct)
    {
        var query = db.Cases.AsNoTracking().Where(c => c.Status == CaseStatuses.Completed && c.Plan != null);
        if (!string.IsNullOrEmpty(schoolId))
        {
            query = query.Where(c => c.SchoolId == schoolId);
        }
        var completed = await query.Select(c => new TreatedCase(c.CaseId, c.StudentId, c.SchoolId, c.Plan!.Type, c.Plan.StartDate)).ToListAsync(ct);
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
        // "In an intervention" from the day a case was opened (by alert or by hand); dates compared as school days.
        var opened = (await db.Cases.AsNoTracking().Where(c => schools.Contains(c.SchoolId)).Select(c => new { c.StudentId, c.OpenedAt, Start = c.Plan != null ? c.Plan.StartDate : (DateOnly?)null }).ToListAsync(ct))
            .GroupBy(c => c.StudentId)
            .ToDictionary(g => g.Key, g => g.Min(c => c.Start is { } s && s < DateOnly.FromDateTime(c.OpenedAt.UtcDateTime) ? s : DateOnly.FromDateTime(c.OpenedAt.UtcDateTime)));
        return new EffectInput(completed, days, opened);
    }
}
