namespace Beacon.Interventions.Domain;

/// <summary>One student of one group intervention, to measure.</summary>
public sealed record GroupTreated(Guid GroupId, string Type, string SkillId, string SchoolId, string StudentId, DateOnly StartDate);

/// <summary>
/// A student's mastery of the group's skill around the group's start, from Mastery: probability at the start and at the
/// end of the window, answers to the skill before the start and in the matching weeks before it.
/// </summary>
public sealed record MasteryPoint(string StudentId, double Before, double After, int AnswersBefore, int AnswersInMatchingWeeks);

public sealed record MasteryEffectSettings(int WindowWeeks = 2, int MatchingWeeks = 4, double Caliper = 0.10, int MaxComparisons = 3, int MinimumGroupSize = 20);

/// <summary>Per group intervention, per type and per type and subgroup (null Effect: suppressed, fewer students than the minimum).</summary>
public sealed record MasteryGroupRow(Guid GroupId, string Type, string SkillId, EffectRow Effect);

public sealed record MasterySubgroupRow(string Type, string Subgroup, int Students, EffectRow? Effect);

/// <summary>
/// A growth gap: within one type, a subgroup's mean effect − the mean effect of the type's other students (those without the
/// label, unlabelled ones included), with a 95 % Welch interval; null figures when either side has fewer students than the minimum.
/// </summary>
public sealed record MasteryGapRow(string Type, string Attribute, string Subgroup, int Students, int Others, double? Gap, double? CiLow, double? CiHigh);

public sealed record MasteryEffectResult(IReadOnlyList<MasteryGroupRow> Groups, IReadOnlyList<EffectRow> Types, IReadOnlyList<MasterySubgroupRow> Subgroups,
    IReadOnlyList<MasteryGapRow> Gaps);

/// <summary>
/// The mastery effect of group interventions, difference in differences against matched students as the attendance
/// effect is. For each student of a group: change = mastery of the group's skill at the end of the window − at the start.
/// Comparison students are of the same school, in no group on that skill that had started before the window ended, and
/// comparable before the start: mastery within the caliper, and practice alike (answers to the skill in the matching weeks
/// before the start within a factor of two, plus or minus one). In turn (by student id), each student takes the nearest
/// (by mastery, then practice) comparable student not yet taken, up to <see cref="MasteryEffectSettings.MaxComparisons"/>
/// each, and their changes are averaged. Effect per student = change − that average; a
/// student with no comparable student is excluded (counted). Per group, per type and per type × subgroup: mean and
/// 95 % t-interval over students (<see cref="EffectEstimator.Summarise"/>); per type
/// and subgroup also the growth gap against the type's other students (<see cref="MasteryGapRow"/>).
/// Students of one group share a teacher and a week, so the interval is optimistic when groups differ a lot (the
/// simulation has no such group-level variation; <c>./beacon eval effects</c> measures coverage where it holds).
/// </summary>
public static class MasteryEffectEstimator
{
    /// <param name="points">Per group: every enrolled student of the group's school (the group's own included).</param>
    /// <param name="grouped">Per skill: each student's earliest group start on that skill (they leave the comparison pool from then).</param>
    /// <param name="subgroups">Per student: labels such as <c>sex:female</c>, <c>el:True</c>.</param>
    public static MasteryEffectResult Estimate(IReadOnlyList<GroupTreated> treated, IReadOnlyDictionary<Guid, IReadOnlyList<MasteryPoint>> points,
        IReadOnlyDictionary<(string SkillId, string StudentId), DateOnly> grouped, IReadOnlyDictionary<string, IReadOnlyList<string>> subgroups,
        MasteryEffectSettings settings)
    {
        var measured = new List<(GroupTreated Student, double Change, double Comparison)>();
        var excluded = new Dictionary<Guid, int>();
        // Comparison students are drawn without replacement within a school and skill: a student shared by many treated
        // students would make their differences move together, and the t-interval, which takes them as independent, too narrow.
        var used = new HashSet<(string SchoolId, string SkillId, string StudentId)>();
        // Groups on one skill in one school starting the same day share their pool; their students, taken in id order (not
        // by group or type, so neither type gets the nearest comparisons first), take turns.
        var clusters = treated.GroupBy(t => (t.SchoolId, t.SkillId, t.StartDate))
            .OrderBy(c => c.Key.StartDate).ThenBy(c => c.Key.SchoolId, StringComparer.Ordinal).ThenBy(c => c.Key.SkillId, StringComparer.Ordinal);
        foreach (var cluster in clusters)
        {
            var (schoolId, skillId, startDate) = cluster.Key;
            var afterEnd = startDate.AddDays(7 * settings.WindowWeeks);
            var byStudent = (points.GetValueOrDefault(cluster.First().GroupId) ?? []).ToDictionary(p => p.StudentId);
            var pool = byStudent.Values.Where(p => !(grouped.TryGetValue((skillId, p.StudentId), out var started) && started < afterEnd)).ToList();
            var members = cluster.Where(t => byStudent.ContainsKey(t.StudentId))
                .OrderBy(t => t.StudentId, StringComparer.Ordinal).ThenBy(t => t.GroupId).ToList();
            foreach (var missing in cluster.Where(t => !byStudent.ContainsKey(t.StudentId)))
            {
                excluded[missing.GroupId] = excluded.GetValueOrDefault(missing.GroupId) + 1;
            }
            var matches = members.Select(_ => new List<MasteryPoint>()).ToList();
            // Round robin: each student in turn takes the nearest comparable student still free, up to MaxComparisons each.
            for (var round = 0; round < settings.MaxComparisons; round++)
            {
                for (var i = 0; i < members.Count; i++)
                {
                    var own = byStudent[members[i].StudentId];
                    var next = pool
                        .Where(p => !used.Contains((schoolId, skillId, p.StudentId))
                            && Math.Abs(p.Before - own.Before) <= settings.Caliper && Comparable(p.AnswersInMatchingWeeks, own.AnswersInMatchingWeeks))
                        .OrderBy(p => Math.Abs(p.Before - own.Before)).ThenBy(p => Math.Abs(p.AnswersInMatchingWeeks - own.AnswersInMatchingWeeks))
                        .ThenBy(p => p.StudentId, StringComparer.Ordinal)
                        .FirstOrDefault();
                    if (next is not null)
                    {
                        used.Add((schoolId, skillId, next.StudentId));
                        matches[i].Add(next);
                    }
                }
            }
            for (var i = 0; i < members.Count; i++)
            {
                var t = members[i];
                var own = byStudent[t.StudentId];
                if (matches[i].Count == 0)
                {
                    excluded[t.GroupId] = excluded.GetValueOrDefault(t.GroupId) + 1;
                    continue;
                }
                measured.Add((t, own.After - own.Before, matches[i].Average(p => p.After - p.Before)));
            }
        }

        EffectRow Row(string label, IEnumerable<(GroupTreated Student, double Change, double Comparison)> units, int excludedCount)
        {
            var list = units.ToList();
            return EffectEstimator.Summarise(label, [.. list.Select(u => u.Change)], [.. list.Select(u => u.Comparison)], excludedCount);
        }

        var groups = treated.GroupBy(t => t.GroupId).Select(g => new MasteryGroupRow(g.Key, g.First().Type, g.First().SkillId,
            Row(g.First().Type, measured.Where(m => m.Student.GroupId == g.Key), excluded.GetValueOrDefault(g.Key)))).ToList();
        var types = treated.GroupBy(t => t.Type).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => Row(g.Key, measured.Where(m => m.Student.Type == g.Key),
            g.Select(t => t.GroupId).Distinct().Sum(id => excluded.GetValueOrDefault(id)))).ToList();
        var subgroupRows = measured
            .SelectMany(m => (subgroups.GetValueOrDefault(m.Student.StudentId) ?? []).Select(label => (Label: label, Unit: m)))
            .GroupBy(x => (x.Unit.Student.Type, x.Label))
            .OrderBy(g => g.Key.Type, StringComparer.Ordinal).ThenBy(g => g.Key.Label, StringComparer.Ordinal)
            .Select(g =>
            {
                var n = g.Count();
                // Suppressed below the minimum group size: a figure over a handful of students can point at them.
                return new MasterySubgroupRow(g.Key.Type, g.Key.Label, n, n < settings.MinimumGroupSize ? null : Row(g.Key.Type, g.Select(x => x.Unit), 0));
            }).ToList();
        return new MasteryEffectResult(groups, types, subgroupRows, Gaps(measured, subgroups, settings.MinimumGroupSize));
    }

    /// <summary>
    /// Per type and subgroup label (<c>sex:female</c>: attribute <c>sex</c>), the gap between the label's students and the
    /// rest of the type's (<see cref="EffectEstimator.CompareMeans"/> over their differences). Both sides must reach the
    /// minimum group size: a small "rest" (a label nearly everyone has) points at its few students as much as a small subgroup.
    /// </summary>
    private static List<MasteryGapRow> Gaps(List<(GroupTreated Student, double Change, double Comparison)> measured,
        IReadOnlyDictionary<string, IReadOnlyList<string>> subgroups, int minimum)
    {
        var rows = new List<MasteryGapRow>();
        foreach (var type in measured.GroupBy(m => m.Student.Type).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var units = type.Select(m => (Labels: subgroups.GetValueOrDefault(m.Student.StudentId) ?? [], Effect: m.Change - m.Comparison)).ToList();
            foreach (var label in units.SelectMany(u => u.Labels).Distinct().Order(StringComparer.Ordinal))
            {
                var inside = units.Where(u => u.Labels.Contains(label)).Select(u => u.Effect).ToList();
                var others = units.Where(u => !u.Labels.Contains(label)).Select(u => u.Effect).ToList();
                var attribute = label.Split(':')[0];
                if (inside.Count < minimum || others.Count < minimum)
                {
                    rows.Add(new MasteryGapRow(type.Key, attribute, label, inside.Count, others.Count, null, null, null));
                    continue;
                }
                var (gap, low, high, _) = EffectEstimator.CompareMeans(others, inside);
                rows.Add(new MasteryGapRow(type.Key, attribute, label, inside.Count, others.Count, gap, low, high));
            }
        }
        return rows;
    }

    /// <summary>Practice alike: within a factor of two of each other, give or take one answer.</summary>
    private static bool Comparable(int a, int b) => Math.Abs(a - b) <= 1 || (Math.Min(a, b) * 2 >= Math.Max(a, b));
}
