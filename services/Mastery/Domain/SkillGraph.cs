namespace Beacon.Mastery.Domain;

/// <summary>A skill as sent to the skill-graph API.</summary>
public sealed record SkillDefinition(string? SkillId, string? Name, IReadOnlyList<string?>? Prerequisites);

public sealed record Recommendation(string TargetSkillId, string Reason, IReadOnlyList<string> UnmasteredPrerequisites);

/// <summary>
/// Skills and their prerequisites (an edge "a needs b"). The graph must be acyclic and name only known
/// skills; <see cref="Validate"/> reports each problem by the index of the skill that carries it.
/// </summary>
public sealed class SkillGraph(IReadOnlyDictionary<string, IReadOnlyList<string>> prerequisites)
{
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Prerequisites { get; } = prerequisites;

    /// <summary>Merges <paramref name="batch"/> into <paramref name="existing"/> (a skill sent again replaces its prerequisites).</summary>
    public static (SkillGraph? Graph, Dictionary<string, string[]> Errors) Validate(
        IReadOnlyList<SkillDefinition?> batch, IReadOnlyDictionary<string, IReadOnlyList<string>> existing)
    {
        var errors = new Dictionary<string, List<string>>();
        void Add(string key, string reason)
        {
            if (!errors.TryGetValue(key, out var list))
            {
                errors[key] = list = [];
            }
            list.Add(reason);
        }

        var merged = existing.ToDictionary(kv => kv.Key, kv => kv.Value);
        var indexOf = new Dictionary<string, int>();
        for (var i = 0; i < batch.Count; i++)
        {
            var skill = batch[i];
            if (skill is null || string.IsNullOrWhiteSpace(skill.SkillId))
            {
                Add($"skills[{i}].skillId", "A skill id is required.");
                continue;
            }
            if (skill.SkillId.Length > 100)
            {
                Add($"skills[{i}].skillId", "At most 100 characters.");
                continue;
            }
            if (!indexOf.TryAdd(skill.SkillId, i))
            {
                Add($"skills[{i}].skillId", $"'{skill.SkillId}' appears twice in this request (first at skills[{indexOf[skill.SkillId]}]).");
                continue;
            }
            merged[skill.SkillId] = [];
        }
        foreach (var (skillId, i) in indexOf)
        {
            var required = new List<string>();
            var listed = batch[i]!.Prerequisites ?? [];
            for (var j = 0; j < listed.Count; j++)
            {
                var prerequisite = listed[j];
                if (string.IsNullOrWhiteSpace(prerequisite))
                {
                    Add($"skills[{i}].prerequisites[{j}]", "A prerequisite skill id is required.");
                }
                else if (prerequisite == skillId)
                {
                    Add($"skills[{i}].prerequisites[{j}]", $"'{skillId}' cannot be its own prerequisite.");
                }
                else if (!merged.ContainsKey(prerequisite))
                {
                    Add($"skills[{i}].prerequisites[{j}]", $"Unknown skill '{prerequisite}': define it in this request or before.");
                }
                else if (!required.Contains(prerequisite))
                {
                    required.Add(prerequisite);
                }
            }
            merged[skillId] = required;
        }

        foreach (var cycle in FindCycles(merged))
        {
            // Report it on the first skill of the cycle that this request sent (the old graph was acyclic).
            var carrier = cycle.First(indexOf.ContainsKey);
            Add($"skills[{indexOf[carrier]}].prerequisites", $"Cycle: {string.Join(" → ", cycle.Append(cycle[0]))}.");
        }

        var result = errors.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        return (result.Count == 0 ? new SkillGraph(merged) : null, result);
    }

    /// <summary>One cycle per strongly tangled part, found by depth-first search (each as a list of skill ids).</summary>
    private static List<List<string>> FindCycles(Dictionary<string, IReadOnlyList<string>> graph)
    {
        var state = new Dictionary<string, int>(); // 1 = on the path, 2 = done
        var path = new List<string>();
        var cycles = new List<List<string>>();
        void Visit(string node)
        {
            state[node] = 1;
            path.Add(node);
            foreach (var next in graph.GetValueOrDefault(node) ?? [])
            {
                var s = state.GetValueOrDefault(next);
                if (s == 1)
                {
                    cycles.Add(path[path.IndexOf(next)..]);
                }
                else if (s == 0)
                {
                    Visit(next);
                }
            }
            path.RemoveAt(path.Count - 1);
            state[node] = 2;
        }
        foreach (var node in graph.Keys.Order(StringComparer.Ordinal))
        {
            if (state.GetValueOrDefault(node) == 0)
            {
                Visit(node);
            }
        }
        return cycles;
    }

    /// <summary>Every prerequisite of the skill, direct or indirect, each with its distance (1 = direct).</summary>
    public Dictionary<string, int> AllPrerequisites(string skillId)
    {
        var depth = new Dictionary<string, int>();
        var queue = new Queue<(string Skill, int Depth)>([(skillId, 0)]);
        while (queue.TryDequeue(out var current))
        {
            foreach (var prerequisite in Prerequisites.GetValueOrDefault(current.Skill) ?? [])
            {
                if (prerequisite != skillId && depth.TryAdd(prerequisite, current.Depth + 1))
                {
                    queue.Enqueue((prerequisite, current.Depth + 1));
                }
            }
        }
        return depth;
    }

    /// <summary>
    /// What a student should practise next for <paramref name="skillId"/>: the weakest unmastered prerequisite
    /// (direct or indirect; ties go to the more basic one), or the skill itself when all are mastered.
    /// </summary>
    public Recommendation Recommend(string skillId, Func<string, double> mastery, double masteredAt)
    {
        var unmastered = AllPrerequisites(skillId)
            .Select(kv => (Skill: kv.Key, Depth: kv.Value, P: mastery(kv.Key)))
            .Where(x => x.P < masteredAt)
            .OrderBy(x => x.P).ThenByDescending(x => x.Depth).ThenBy(x => x.Skill, StringComparer.Ordinal)
            .ToList();
        if (unmastered.Count == 0)
        {
            return new Recommendation(skillId, "All prerequisites are mastered: practise the skill itself.", []);
        }
        var weakest = unmastered[0];
        return new Recommendation(weakest.Skill,
            $"'{weakest.Skill}' is the weakest unmastered prerequisite of '{skillId}' (mastery {weakest.P:F2}); return to '{skillId}' once it is mastered.",
            unmastered.Select(x => x.Skill).ToList());
    }
}
