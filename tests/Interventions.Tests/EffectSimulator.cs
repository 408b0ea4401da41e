using Beacon.Interventions.Domain;
using Beacon.Interventions.Storage;

namespace Beacon.Interventions.Tests;

/// <summary>
/// Simulated schools with a known truth. Each student attends each school day with their own
/// probability (0.70–0.97); from <see cref="TrendFrom"/> everyone's drops by <see cref="Trend"/> (a flu
/// wave that a plain before/after comparison would wrongly count against the interventions). Some
/// at-risk students (probability &lt; 0.85) get an intervention starting on one of three Mondays:
/// attendance outreach adds <see cref="OutreachEffect"/> from its start; tutoring adds nothing.
/// Risk scores (<see cref="RiskPoints"/>) follow each student's attendance probability, with the same truth: outreach lowers
/// the chronic-absence score by <see cref="OutreachRiskEffect"/>, tutoring does nothing, and neither moves the dropout score.
/// </summary>
public sealed class EffectSimulator
{
    public const double OutreachEffect = 0.10;
    public const double TutoringEffect = 0.0;
    public const double Trend = -0.05;
    public static readonly DateOnly TrendFrom = new(2026, 10, 19);
    public const double OutreachRiskEffect = -0.08;
    public const double RiskTrend = 0.04;
    public const double RiskNoise = 0.04;
    private static readonly DateOnly FirstDay = new(2026, 8, 31);
    private static readonly DateOnly[] Starts = [new(2026, 10, 12), new(2026, 10, 19), new(2026, 10, 26)];

    public List<TreatedCase> Treated { get; } = [];
    public List<AttendanceFact> Days { get; } = [];
    public Dictionary<string, DateOnly> FirstCaseOpened { get; } = [];
    private readonly List<(string Id, string School, double P)> _students = [];
    private readonly int _seed;

    public EffectSimulator(int seed, int schools = 2, int studentsPerSchool = 150, int perTypePerSchool = 25)
    {
        _seed = seed;
        var random = new Random(seed);
        for (var s = 0; s < schools; s++)
        {
            var school = $"sim-school-{s}";
            var students = Enumerable.Range(0, studentsPerSchool)
                .Select(i => (Id: $"sim-{s}-{i:000}", P: 0.70 + 0.27 * random.NextDouble())).ToList();
            _students.AddRange(students.Select(x => (x.Id, school, x.P)));
            var atRisk = students.Where(x => x.P < 0.85).OrderBy(_ => random.Next()).ToList();
            var effects = new Dictionary<string, (DateOnly Start, double Effect)>();
            foreach (var (x, i) in atRisk.Take(2 * perTypePerSchool).Select((x, i) => (x, i)))
            {
                var outreach = i < perTypePerSchool;
                var start = Starts[random.Next(Starts.Length)];
                effects[x.Id] = (start, outreach ? OutreachEffect : TutoringEffect);
                Treated.Add(new TreatedCase(Guid.NewGuid(), x.Id, school, outreach ? "attendance-outreach" : "tutoring", start));
                FirstCaseOpened[x.Id] = start;
            }
            for (var day = FirstDay; day < FirstDay.AddDays(7 * 12); day = day.AddDays(1))
            {
                if (day.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday)
                {
                    continue;
                }
                foreach (var (id, p) in students)
                {
                    var q = p + (day >= TrendFrom ? Trend : 0);
                    if (effects.TryGetValue(id, out var e) && day >= e.Start)
                    {
                        q += e.Effect;
                    }
                    Days.Add(new AttendanceFact(id, school, day, random.NextDouble() < q));
                }
            }
        }
    }

    /// <summary>
    /// Each student's score of two kinds on every school day: chronic absence 0.05–0.65 by their attendance probability,
    /// up by <see cref="RiskTrend"/> with the flu wave; dropout half of that; each with its own daily noise (sd
    /// <see cref="RiskNoise"/>). Drawn from a generator of its own, so the attendance stays what it was for a seed.
    /// </summary>
    public List<RiskPoint> RiskPoints()
    {
        var random = new Random(_seed ^ 0x5EED);
        double Noise() => RiskNoise * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var starts = Treated.Where(t => t.InterventionType == "attendance-outreach").ToDictionary(t => t.StudentId, t => t.StartDate);
        var points = new List<RiskPoint>();
        foreach (var day in Days.Select(d => d.Date).Distinct().Order())
        {
            foreach (var (id, school, p) in _students)
            {
                var risk = 0.05 + 0.6 * (0.97 - p) / 0.27 + (day >= TrendFrom ? RiskTrend : 0);
                var effect = starts.TryGetValue(id, out var start) && day >= start ? OutreachRiskEffect : 0;
                points.Add(new RiskPoint(id, school, "chronic-absence", day, Math.Clamp(risk + effect + Noise(), 0, 1)));
                points.Add(new RiskPoint(id, school, "dropout", day, Math.Clamp(risk / 2 + Noise(), 0, 1)));
            }
        }
        return points;
    }

    /// <summary>The simulated school days as the service stores them (its attendance projection).</summary>
    public IEnumerable<AttendanceDay> AttendanceRows() =>
        Days.Select(d => new AttendanceDay { StudentId = d.StudentId, SchoolId = d.SchoolId, Date = d.Date, Status = d.Attended ? "present" : "absent", Attended = d.Attended });

    /// <summary>A treated student's case as the service stores it once completed: opened on its start, with a plan of its type.</summary>
    public static InterventionCase CompletedCase(TreatedCase t) => new()
    {
        CaseId = t.CaseId,
        StudentId = t.StudentId,
        SchoolId = t.SchoolId,
        Reason = "simulated",
        Status = CaseStatuses.Completed,
        Outcome = Outcomes.Improved,
        OpenedAt = new DateTimeOffset(t.StartDate.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero),
        Plan = new InterventionPlan { Type = t.InterventionType, Tier = 2, Goal = "g", StartDate = t.StartDate, DurationWeeks = 4, CheckInFrequency = "weekly" },
    };
}
