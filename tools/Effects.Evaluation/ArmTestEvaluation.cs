using Beacon.Interventions.Domain;
using Beacon.Simulator;

namespace Beacon.Effects.Evaluation;

/// <summary>One simulated test of change: the planted difference between arm B and arm A, the estimate and its 95 % interval.</summary>
public sealed record ArmEstimate(double Planted, double Estimate, double? Low, double? High, double? MinimumDetectable, bool Detectable, int Measured)
{
    public bool Covers => Low is { } low && High is { } high && low <= Planted && Planted <= high;
}

/// <summary>
/// A test of change run the way the platform runs it: Interventions' <see cref="StratifiedAssignment"/> draws the arms
/// among the simulated world's eligible students with the seed, the world produces their attendance under their arm
/// (arm B's outreach raises it by a known amount, arm A's by none), and Interventions' <see cref="ChangeTestEstimator"/>
/// measures the difference as the report does.
/// </summary>
public static class ArmTestEvaluation
{
    public static ArmEstimate Run(int seed, int students = 300)
    {
        var world = new ArmTestWorld(seed, students);
        var assigned = StratifiedAssignment.Assign(world.Eligible.Select(e => new EligibleStudent(e.StudentId, e.SchoolId, e.RiskBand)), 2, seed);
        var armOf = assigned.ToDictionary(a => a.Student.StudentId, a => a.Arm);
        var days = world.Attendance(armOf).Select(d => new AttendanceFact(d.StudentId, d.SchoolId, d.Date, d.Attended));
        var changes = ChangeTestEstimator.AttendanceChanges(armOf.Keys, days, ArmTestWorld.Start, ArmTestWorld.WindowDays);
        var result = ChangeTestEstimator.Compare([("A", "outreach message A"), ("B", "outreach message B")],
            [.. assigned.Select(a => (a.Student.StudentId, a.Arm))], changes, ChangeTestEstimator.PercentagePoints);
        var b = result.Differences.Single();
        return new ArmEstimate(world.Planted(), b.Difference, b.CiLow, b.CiHigh, b.MinimumDetectable, b.Detectable, changes.Count);
    }
}
