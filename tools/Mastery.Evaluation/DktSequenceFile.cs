namespace Beacon.Mastery.Evaluation;

/// <summary>One student's answers in order: the skill of each and whether it was correct.</summary>
public sealed record StudentSequence(int[] Skills, bool[] Correct);

/// <summary>
/// Reads the Deep Knowledge Tracing benchmark files (builder_train.csv / builder_test.csv): three lines
/// per student — the number of responses, the skill ids, the 0/1 answers (lists may end with a comma).
/// </summary>
public static class DktSequenceFile
{
    public static List<StudentSequence> Read(string path)
    {
        var lines = File.ReadAllLines(path);
        var students = new List<StudentSequence>();
        for (var i = 0; i + 2 < lines.Length; i += 3)
        {
            if (!int.TryParse(lines[i].Trim(), out var count))
            {
                throw new FormatException($"{path} line {i + 1}: expected the number of responses, found '{lines[i]}'.");
            }
            var skills = Split(lines[i + 1]).Select(int.Parse).ToArray();
            var correct = Split(lines[i + 2]).Select(v => v == "1").ToArray();
            if (skills.Length != count || correct.Length != count)
            {
                throw new FormatException($"{path} line {i + 1}: {count} responses announced, {skills.Length} skills and {correct.Length} answers found.");
            }
            students.Add(new StudentSequence(skills, correct));
        }
        return students;
    }

    private static IEnumerable<string> Split(string line) =>
        line.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
