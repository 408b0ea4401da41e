using Beacon.Interventions.Storage;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Interventions.Domain;

/// <summary>
/// One group of completed interventions (a type; a type in one risk band; a type in one school): the attendance effect
/// (<see cref="EffectEstimator"/>), the staff time behind it, and the effect per staff hour with its interval (the
/// effect's interval divided by the mean hours, the hours taken as known).
/// </summary>
public sealed record ResourceRow(string Type, string? RiskBand, string? SchoolId, EffectRow Effect, int CasesWithHours, int CasesWithLoggedTime,
    double? MeanHours, double? PerHour, double? PerHourLow, double? PerHourHigh)
{
    /// <summary>Enough evidence to rank: at least <see cref="ResourceReport.MinimumCases"/> measured cases, an interval, and hours for most of them.</summary>
    public bool Ranked => Effect.Cases >= ResourceReport.MinimumCases && Effect.CiLow is not null && PerHour is not null && CasesWithHours * 2 >= Effect.Cases;
}

public sealed record ResourceTables(List<ResourceRow> ByType, List<ResourceRow> ByTypeAndBand, List<ResourceRow> ByTypeAndSchool);

/// <summary>
/// What works per hour of staff time (#27 item 4): each completed case's attendance effect against matched comparison
/// students, and its staff time: the minutes logged on its notes and contacts when any were logged, else the hours its plan
/// expected, else unknown (measured, but not in the per-hour figure). Grouped by intervention type, by type and the
/// student's risk band when the plan was set, and by type and school.
/// </summary>
public sealed class ResourceReport(InterventionsDbContext db, EffectReport effects)
{
    public const int MinimumCases = 5;

    public async Task<ResourceTables> BuildAsync(EffectSettings settings, string? schoolId, CancellationToken ct)
    {
        if (await effects.LoadAsync(settings, schoolId, ct) is not { } input)
        {
            return new ResourceTables([], [], []);
        }
        var measured = EffectEstimator.MeasureCases(input.Treated, input.Days, input.FirstCaseOpened, settings);
        var ids = measured.Select(m => m.Case.CaseId).ToList();
        var plans = await db.Cases.AsNoTracking().Where(c => ids.Contains(c.CaseId))
            .Select(c => new { c.CaseId, c.Plan!.ExpectedHours, c.Plan.RiskBandAtStart }).ToDictionaryAsync(c => c.CaseId, ct);
        var logged = await db.Activity.AsNoTracking().Where(a => ids.Contains(a.CaseId) && a.MinutesSpent != null)
            .GroupBy(a => a.CaseId).Select(g => new { g.Key, Minutes = g.Sum(a => a.MinutesSpent!.Value) }).ToDictionaryAsync(g => g.Key, g => g.Minutes, ct);
        var cases = measured.Select(m =>
        {
            var plan = plans.GetValueOrDefault(m.Case.CaseId);
            double? hours = logged.TryGetValue(m.Case.CaseId, out var minutes) ? minutes / 60.0 : plan?.ExpectedHours;
            return (Measured: m, Band: plan?.RiskBandAtStart ?? "unknown", Hours: hours, Logged: logged.ContainsKey(m.Case.CaseId));
        }).ToList();

        ResourceRow Row(string type, string? band, string? school, IEnumerable<(EffectEstimator.MeasuredCase Measured, string Band, double? Hours, bool Logged)> group)
        {
            var all = group.ToList();
            var ok = all.Where(c => c.Measured.Measured).ToList();
            var effect = EffectEstimator.SummariseMatched(type, [.. ok.Select(c => c.Measured)], all.Count - ok.Count);
            var withHours = ok.Where(c => c.Hours is > 0).ToList();
            double? mean = withHours.Count > 0 ? withHours.Average(c => c.Hours!.Value) : null;
            double? Per(double? v) => v is { } x && mean is { } h && !double.IsNaN(x) ? x / h : null;
            return new ResourceRow(type, band, school, effect, withHours.Count, ok.Count(c => c.Logged), mean, Per(effect.Difference), Per(effect.CiLow), Per(effect.CiHigh));
        }

        static IEnumerable<ResourceRow> Ordered(IEnumerable<ResourceRow> rows) =>
            rows.OrderByDescending(r => r.Ranked).ThenByDescending(r => r.PerHour ?? double.MinValue).ThenBy(r => r.Type, StringComparer.Ordinal);

        return new ResourceTables(
            [.. Ordered(cases.GroupBy(c => c.Measured.Case.InterventionType).Select(g => Row(g.Key, null, null, g)))],
            [.. Ordered(cases.GroupBy(c => (c.Measured.Case.InterventionType, c.Band)).Select(g => Row(g.Key.InterventionType, g.Key.Band, null, g)))
                .OrderBy(r => r.RiskBand, StringComparer.Ordinal)],
            [.. Ordered(cases.GroupBy(c => (c.Measured.Case.InterventionType, c.Measured.Case.SchoolId)).Select(g => Row(g.Key.InterventionType, null, g.Key.SchoolId, g)))
                .OrderBy(r => r.SchoolId, StringComparer.Ordinal)]);
    }

    /// <summary>The student's worst band across Early warning's risk kinds now; unscored when it never scored them.</summary>
    public static async Task<string> WorstBandAsync(InterventionsDbContext db, string studentId, CancellationToken ct) =>
        StudentRiskBand.Worst(await db.RiskBands.AsNoTracking().Where(b => b.StudentId == studentId).Select(b => b.Band).ToListAsync(ct));
}
