namespace Beacon.Mastery.Domain;

/// <summary>Generates answers from a known BKT process (for parameter-recovery checks and demo data).</summary>
public static class BktSimulator
{
    public static List<bool[]> Generate(BktParameters p, int students, int attempts, Random random)
    {
        var sequences = new List<bool[]>(students);
        for (var s = 0; s < students; s++)
        {
            var known = random.NextDouble() < p.PriorKnowledge;
            var answers = new bool[attempts];
            for (var t = 0; t < attempts; t++)
            {
                answers[t] = known ? random.NextDouble() >= p.Slip : random.NextDouble() < p.Guess;
                known = known ? random.NextDouble() >= p.Forget : random.NextDouble() < p.Learn;
            }
            sequences.Add(answers);
        }
        return sequences;
    }
}
