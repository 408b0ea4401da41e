using static Beacon.EarlyWarning.Storage.ProfileColumns;

namespace Beacon.EarlyWarning.Domain;

/// <summary>
/// The quasi-identifiers after generalization: each row's values, whether the row is suppressed, the steps applied (in
/// words, in order) and the fewest rows any released combination has (0 when nothing is released).
/// </summary>
public sealed record KAnonymityResult(IReadOnlyList<string[]> Rows, IReadOnlyList<bool> Suppressed, IReadOnlyList<string> Steps, int SuppressedCount, int SmallestClass);

/// <summary>
/// k-anonymity by full-domain generalization along a fixed ladder (Sweeney's Datafly in spirit, with the order chosen for
/// what analysts lose least): merge small race/ethnicity categories into "other", grade levels into bands, schools into the
/// district, then drop race/ethnicity, disability, English learner, economic disadvantage, sex and the grade band one at a
/// time. It stops at the first step after which the rows whose combination of values is shared by fewer than k rows are no
/// more than the allowed share; those rows are then suppressed. So every released combination has at least k rows.
/// </summary>
public static class KAnonymity
{
    public const string Unknown = "unknown", Other = "other", Any = "*", District = "district";

    /// <param name="names">The quasi-identifier columns, in the order of each row's values.</param>
    /// <param name="rows">Each row's values (null-free: a missing value is <see cref="Unknown"/>).</param>
    public static KAnonymityResult Generalize(IReadOnlyList<string> names, IReadOnlyList<string[]> rows, int k, double maxSuppressedShare)
    {
        var current = rows.Select(r => (string[])r.Clone()).ToList();
        var budget = (int)Math.Floor(maxSuppressedShare * rows.Count);
        var steps = new List<string>();
        foreach (var step in Ladder(names, k))
        {
            if (RowsBelow(current, k) <= budget)
            {
                break;
            }
            if (step(current) is { } done)
            {
                steps.Add(done);
            }
        }
        var sizes = ClassSizes(current);
        var suppressed = current.Select(r => sizes[Key(r)] < k).ToArray();
        var released = sizes.Values.Where(n => n >= k).ToList();
        return new KAnonymityResult(current, suppressed, steps, suppressed.Count(s => s), released.Count == 0 ? 0 : released.Min());
    }

    /// <summary>How many rows share each combination of values: the re-identification check counts the same way.</summary>
    public static Dictionary<string, int> ClassSizes(IEnumerable<string[]> rows) =>
        rows.GroupBy(Key).ToDictionary(g => g.Key, g => g.Count());

    /// <summary>OneRoster grade levels in school bands: PK-5, 6-8, 9-12 (and "other" for ungraded or unrecognised).</summary>
    public static string GradeBand(string grade)
    {
        var g = grade.Trim().ToUpperInvariant();
        if (g == Unknown.ToUpperInvariant())
        {
            return Unknown;
        }
        if (g is "IT" or "PR" or "PK" or "TK" or "KG" or "K" or "PS")
        {
            return "PK-5";
        }
        return int.TryParse(g, out var n) ? n <= 5 ? "PK-5" : n <= 8 ? "6-8" : "9-12" : Other;
    }

    private static int RowsBelow(List<string[]> rows, int k)
    {
        var sizes = ClassSizes(rows);
        return rows.Count(r => sizes[Key(r)] < k);
    }

    private static string Key(string[] row) => string.Join('\u001f', row);

    /// <summary>Each step changes the rows in place and says what it did, or null when it changed nothing (not recorded).</summary>
    private static IEnumerable<Func<List<string[]>, string?>> Ladder(IReadOnlyList<string> names, int k)
    {
        int Column(string name) => names.ToList().IndexOf(name);
        string? Map(List<string[]> rows, string name, Func<string, string> to, string said)
        {
            var c = Column(name);
            if (c < 0)
            {
                return null;
            }
            var changed = false;
            foreach (var row in rows)
            {
                var value = to(row[c]);
                changed |= value != row[c];
                row[c] = value;
            }
            return changed ? said : null;
        }
        yield return rows =>
        {
            var c = Column(Race);
            if (c < 0)
            {
                return null;
            }
            // The categories are not named in the step: that the district has so few students of one is itself a disclosure.
            var small = rows.GroupBy(r => r[c]).Where(g => g.Count() < k && g.Key != Unknown).Select(g => g.Key).ToHashSet();
            return small.Count == 0 ? null
                : Map(rows, Race, v => small.Contains(v) ? Other : v, $"{Race}: {small.Count} categories with fewer than {k} students merged into '{Other}'");
        };
        yield return rows => Map(rows, Grade, GradeBand, $"{Grade}: grades banded (PK-5, 6-8, 9-12)");
        yield return rows => Map(rows, School, _ => District, $"{School}: every school reported as '{District}'");
        foreach (var name in new[] { Race, Disability, EnglishLearner, Economic, Sex, Grade })
        {
            yield return rows => Map(rows, name, _ => Any, $"{name}: removed ('{Any}')");
        }
    }
}
