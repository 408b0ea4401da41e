using System.Text.Json;
using Beacon.Bench;

namespace Beacon.Bench.Tests;

/// <summary>
/// The mixed load is only a measurement if its signals come in the proportions it prints and each planted student
/// crosses its line exactly at the signal it is timed from (and no other student crosses an attendance or course line).
/// The lines are Early warning's defaults: absent >= 10 % after 10 days; a mark below 60 % or a term average below 70 %;
/// a suspension-like incident.
/// </summary>
public sealed class MixedPlanTests
{
    private const int Days = 30;
    private static readonly (string Id, string School)[] Students =
        [.. Enumerable.Range(0, 300).Select(i => (Id: $"t-{(i % 2 == 0 ? "a" : "b")}-s{i}", School: i % 2 == 0 ? "t-a" : "t-b"))];

    private static (MixedPlan Plan, List<Signal> Signals) Generate()
    {
        var plan = new MixedPlan("test", Students, Days, firstTimedDay: 12);
        return (plan, [.. Enumerable.Range(0, Days).SelectMany(plan.DaySignals)]);
    }

    private static JsonElement Row(Signal s) => JsonSerializer.SerializeToElement(s.Row);

    [Fact]
    public void Signals_come_in_the_printed_proportions()
    {
        var (_, signals) = Generate();
        var perStudentDay = (double)signals.Count / (Students.Length * Days);
        Assert.InRange(perStudentDay, MixedPlan.PerStudentDay * 0.95, MixedPlan.PerStudentDay * 1.05);
        double Share(SignalKind kind) => (double)signals.Count(s => s.Kind == kind) / signals.Count;
        Assert.Equal(1.0 / perStudentDay, Share(SignalKind.Attendance), 3);
        Assert.InRange(Share(SignalKind.Answer), 0.50, 0.60);
        Assert.InRange(Share(SignalKind.Incident), 0.001, 0.01);
        Assert.All(SignalKind.All, kind => Assert.True(Share(kind) > 0, kind.Name));
    }

    [Fact]
    public void Each_planted_attendance_student_crosses_the_line_at_its_trigger_and_nobody_else_crosses()
    {
        var (plan, signals) = Generate();
        var triggers = plan.Planted.Where(p => p.Family == "chronic-absence").ToDictionary(p => p.StudentId, p => p.Trigger);
        Assert.Equal(Students.Length / 10, triggers.Count);
        AssertCrossingsAt(signals, SignalKind.Attendance, triggers, () =>
        {
            var (absent, days) = (0, 0);
            return row =>
            {
                absent += row.GetProperty("status").GetString() == "absent" ? 1 : 0;
                days++;
                return days >= 10 && (double)absent / days >= 0.10;
            };
        });
    }

    [Fact]
    public void Planted_course_students_stay_above_the_course_line_until_the_trigger_mark_and_other_students_never_cross_it()
    {
        var (plan, signals) = Generate();
        var triggers = plan.Planted.Where(p => p.Family == "course-performance").ToDictionary(p => p.StudentId, p => p.Trigger);
        Assert.Equal(Students.Length / 10, triggers.Count);
        Assert.Equal(triggers.Values, plan.Planted.Where(p => p.Family == "dropout").Select(p => p.Trigger));
        AssertCrossingsAt(signals, SignalKind.Grade, triggers, () =>
        {
            var latest = new Dictionary<string, double>();   // each course by its latest mark
            return row =>
            {
                latest[row.GetProperty("courseId").GetString()!] = row.GetProperty("markPercent").GetDouble();
                return latest.Values.Any(m => m < 60) || latest.Values.Average() < 70;
            };
        });
    }

    /// <summary>
    /// Each student's signals of the kind in order: the first one that puts them over the line (a fresh line per student,
    /// from <paramref name="newLine"/>) must be their planted trigger, and a student without one must never cross.
    /// </summary>
    private static void AssertCrossingsAt(List<Signal> signals, SignalKind kind, Dictionary<string, Signal> triggers, Func<Func<JsonElement, bool>> newLine)
    {
        foreach (var student in signals.Where(s => s.Kind == kind).GroupBy(s => s.StudentId))
        {
            var crosses = newLine();
            Assert.Same(triggers.GetValueOrDefault(student.Key), student.FirstOrDefault(s => crosses(Row(s))));
        }
    }

    [Fact]
    public void Planted_behaviour_students_have_no_incident_before_their_suspension()
    {
        var (plan, signals) = Generate();
        var planted = plan.Planted.Where(p => p.Family == "behavior").ToList();
        Assert.Equal(Students.Length / 10, planted.Count);
        foreach (var p in planted)
        {
            var incidents = signals.Where(s => s.Kind == SignalKind.Incident && s.StudentId == p.StudentId).ToList();
            Assert.Same(p.Trigger, Assert.Single(incidents));
            Assert.Equal("out-of-school-suspension", Row(p.Trigger).GetProperty("category").GetString());
        }
        // Other students' incidents are never suspension-like or major: their behaviour alerts come only from three incidents.
        Assert.All(signals.Where(s => s.Kind == SignalKind.Incident && planted.All(p => p.Trigger != s)),
            s => Assert.NotEqual("major", Row(s).GetProperty("severity").GetString()));
    }
}
