namespace Beacon.Interventions.Domain;

/// <summary>A student who may take part in a test of change, with the stratum they are drawn in.</summary>
public sealed record EligibleStudent(string StudentId, string SchoolId, string RiskBand, Guid? CaseId = null);

/// <summary>
/// Random assignment to arms, stratified by school and risk band: within each stratum the students are shuffled and dealt
/// to the arms in turn, so every stratum's arms differ by at most one student, and the arms then differ in school and risk
/// only by chance within a stratum. A stratum's leftover students go to the arms with the fewest students so far (ties
/// broken at random), which keeps the arms' totals within one too. Everything depends only on the eligible set and the
/// seed: strata and students are ordered by id before the draws (not by database order), so the recorded seed reproduces
/// the assignment. <see cref="Random(int)"/> with a seed is the framework's stable seeded generator.
/// </summary>
public static class StratifiedAssignment
{
    /// <summary>The name of this algorithm, recorded with each test (a later change of algorithm must get a new name).</summary>
    public const string Method = "stratified-shuffle-v1";

    public static IReadOnlyList<(EligibleStudent Student, int Arm)> Assign(IEnumerable<EligibleStudent> eligible, int arms, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(arms, 2);
        var random = new Random(seed);
        var totals = new int[arms];
        var result = new List<(EligibleStudent, int)>();
        var strata = eligible.DistinctBy(s => s.StudentId)
            .GroupBy(s => (s.SchoolId, s.RiskBand))
            .OrderBy(g => g.Key.SchoolId, StringComparer.Ordinal).ThenBy(g => g.Key.RiskBand, StringComparer.Ordinal);
        foreach (var stratum in strata)
        {
            var students = stratum.OrderBy(s => s.StudentId, StringComparer.Ordinal).ToArray();
            random.Shuffle(students);
            // The deal order: the emptiest arms first, so a stratum's remainder evens out the totals; ties at random.
            var keys = Enumerable.Range(0, arms).Select(_ => random.Next()).ToArray();
            var order = Enumerable.Range(0, arms).OrderBy(a => totals[a]).ThenBy(a => keys[a]).ToArray();
            for (var i = 0; i < students.Length; i++)
            {
                var arm = order[i % arms];
                totals[arm]++;
                result.Add((students[i], arm));
            }
        }
        return result;
    }
}
