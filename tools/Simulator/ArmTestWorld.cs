namespace Beacon.Simulator;

/// <summary>A student eligible for a test of change: an open case, in a school, in a risk band.</summary>
public sealed record SimEligible(string StudentId, string SchoolId, string RiskBand);

/// <summary>One school day of one student.</summary>
public sealed record SimDay(string StudentId, string SchoolId, DateOnly Date, bool Attended);

/// <summary>
/// Students with open cases around a test of change, with a known difference between its arms (issue #27, part 6). Each
/// student attends a school day with their own probability, set by their risk band (high 0.60–0.80, elevated 0.75–0.90,
/// low 0.85–0.95) and their school (±0.03); over the test's window every student's probability moves by a shared drift
/// (<see cref="Drift"/>, the season) and an own shock (sd <see cref="Shock"/>), and by their arm's effect: arm B's
/// outreach adds <see cref="PlantedDifference"/> (or the difference given), arm A's nothing (capped at 1). Every day's uniform is drawn up front, so
/// a student's days under one arm and under another differ only by the arm (the truth is then exact:
/// <see cref="Planted"/> averages the difference of the arms' probabilities over every student).
/// </summary>
public sealed class ArmTestWorld
{
    public const double PlantedDifference = 0.08;
    public const double Drift = -0.03;
    public const double Shock = 0.05;
    public const int WindowDays = 14;
    public static readonly DateOnly Start = new(2026, 10, 5);   // a Monday

    private readonly Dictionary<string, (double Before, double After, double[] Draws)> _students = [];
    private readonly List<DateOnly> _days;

    public List<SimEligible> Eligible { get; } = [];

    private readonly double _difference;

    /// <param name="difference">Arm B's planted effect (default <see cref="PlantedDifference"/>; a test constructs a tiny one too).</param>
    public ArmTestWorld(int seed, int students = 300, int schools = 3, string prefix = "sim-arms", double difference = PlantedDifference)
    {
        _difference = difference;
        var random = new Random(seed);
        _days = [.. Enumerable.Range(-WindowDays, 2 * WindowDays).Select(d => Start.AddDays(d)).Where(d => d.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday))];
        var schoolLevel = Enumerable.Range(0, schools).Select(_ => -0.03 + 0.06 * random.NextDouble()).ToArray();
        for (var i = 0; i < students; i++)
        {
            var school = i % schools;
            var u = random.NextDouble();
            var (band, low, high) = u < 0.3 ? ("high", 0.60, 0.80) : u < 0.7 ? ("elevated", 0.75, 0.90) : ("low", 0.85, 0.95);
            var before = Math.Clamp(low + (high - low) * random.NextDouble() + schoolLevel[school], 0.05, 0.99);
            var after = Math.Clamp(before + Drift + Shock * Normal(random), 0.05, 0.99);
            var id = $"{prefix}-s{i:0000}";
            _students[id] = (before, after, [.. _days.Select(_ => random.NextDouble())]);
            Eligible.Add(new SimEligible(id, $"{prefix}-school{school}", band));
        }
    }

    /// <summary>Each arm's planted effect on the daily probability: arm 0 (A) none, arm 1 (B) the planted difference, further arms none.</summary>
    public double EffectOf(int arm) => arm == 1 ? _difference : 0;

    /// <summary>The students' school days in the window before the start and the window from it, each under their arm.</summary>
    public List<SimDay> Attendance(IReadOnlyDictionary<string, int> armOf)
    {
        var days = new List<SimDay>();
        foreach (var student in Eligible)
        {
            var (before, after, draws) = _students[student.StudentId];
            var treated = Math.Min(1, after + EffectOf(armOf.GetValueOrDefault(student.StudentId)));
            for (var d = 0; d < _days.Count; d++)
            {
                days.Add(new SimDay(student.StudentId, student.SchoolId, _days[d], draws[d] < (_days[d] < Start ? before : treated)));
            }
        }
        return days;
    }

    /// <summary>The true difference arm <paramref name="arm"/> − arm <paramref name="reference"/> in attendance rate after the start, over every eligible student.</summary>
    public double Planted(int arm = 1, int reference = 0) =>
        _students.Values.Average(s => Math.Min(1, s.After + EffectOf(arm)) - Math.Min(1, s.After + EffectOf(reference)));

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
