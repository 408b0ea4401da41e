using System.Globalization;
using Beacon.Contracts.Mastery;
using Beacon.Interventions.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using MasteryClient = Beacon.Contracts.Mastery.Mastery.MasteryClient;

namespace Beacon.Interventions.Domain;

/// <summary>
/// Loads group interventions whose window has ended, asks Mastery over gRPC for the mastery of each group's skill around
/// its start (every student of the school: the group's and the candidates for comparison), and runs
/// <see cref="MasteryEffectEstimator"/>. Mastery owns mastery and its history; Interventions owns the interventions and
/// the measurement, so it asks rather than keeping a copy (MasteryChanged carries when a change was processed, not
/// when the answers were given, which is what a before/after needs).
/// </summary>
public sealed class MasteryEffectReport(InterventionsDbContext db, MasteryClient mastery, IOptions<InterventionsOptions> options, TimeProvider clock)
{
    public sealed record Report(MasteryEffectSettings Settings, MasteryEffectResult Result, IReadOnlyList<GroupIntervention> Measured, IReadOnlyList<GroupIntervention> Pending);

    public async Task<Report> BuildAsync(IReadOnlyList<GroupIntervention> groups, int windowWeeks, CancellationToken ct)
    {
        var settings = new MasteryEffectSettings(WindowWeeks: windowWeeks, MinimumGroupSize: options.Value.MinimumGroupSize);
        var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        var measured = groups.Where(g => g.StartDate.AddDays(7 * windowWeeks) <= today).ToList();
        var pending = groups.Where(g => g.StartDate.AddDays(7 * windowWeeks) > today).ToList();
        var points = new Dictionary<Guid, IReadOnlyList<MasteryPoint>>();
        var asked = new Dictionary<(string, string, DateOnly), IReadOnlyList<MasteryPoint>>();
        foreach (var g in measured)
        {
            var key = (g.SkillId, g.SchoolId, g.StartDate);
            if (!asked.TryGetValue(key, out var answer))
            {
                asked[key] = answer = await HistoryAsync(g, settings, ct);
            }
            points[g.GroupId] = answer;
        }
        var skills = measured.Select(g => g.SkillId).Distinct().ToList();
        var grouped = (await db.GroupMembers.AsNoTracking().Join(db.Groups.AsNoTracking().Where(g => skills.Contains(g.SkillId)), m => m.GroupId, g => g.GroupId,
                (m, g) => new { g.SkillId, m.StudentId, g.StartDate }).ToListAsync(ct))
            .GroupBy(x => (x.SkillId, x.StudentId)).ToDictionary(x => x.Key, x => x.Min(y => y.StartDate));
        var treated = measured.SelectMany(g => g.Students.Select(s => new GroupTreated(g.GroupId, g.Type, g.SkillId, g.SchoolId, s.StudentId, g.StartDate))).ToList();
        var ids = treated.Select(t => t.StudentId).Distinct().ToList();
        var subgroups = await db.Subgroups.AsNoTracking().Where(s => ids.Contains(s.StudentId))
            .ToDictionaryAsync(s => s.StudentId, s => (IReadOnlyList<string>)s.Labels.Split(',', StringSplitOptions.RemoveEmptyEntries), ct);
        return new Report(settings, MasteryEffectEstimator.Estimate(treated, points, grouped, subgroups, settings), measured, pending);
    }

    private async Task<IReadOnlyList<MasteryPoint>> HistoryAsync(GroupIntervention g, MasteryEffectSettings settings, CancellationToken ct)
    {
        static string At(DateOnly day) => day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc).ToString("O", CultureInfo.InvariantCulture);
        var request = new GetSkillHistoryRequest { SkillId = g.SkillId, SchoolId = g.SchoolId };
        request.At.Add(At(g.StartDate));
        request.At.Add(At(g.StartDate.AddDays(7 * settings.WindowWeeks)));
        request.At.Add(At(g.StartDate.AddDays(-7 * settings.MatchingWeeks)));
        var history = await mastery.GetSkillHistoryAsync(request, cancellationToken: ct);
        return [.. history.Students.Select(s => new MasteryPoint(s.StudentId, s.Probability[0], s.Probability[1], s.Attempts[0], s.Attempts[0] - s.Attempts[2]))];
    }
}
