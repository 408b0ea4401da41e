using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Domain;

namespace Beacon.EarlyWarning.Tests;

/// <summary>The behaviour and course-performance indicators on their own (no broker, no database).</summary>
public sealed class AbcIndicatorTests
{
    private static readonly DateOnly Day = new(2026, 10, 1);
    private readonly BehaviorIndicatorOptions _behavior = new();
    private readonly CoursePerformanceOptions _course = new();

    [Fact]
    public void A_major_incident_or_a_suspension_flags_behaviour_and_minor_ones_only_in_numbers()
    {
        Assert.False(BehaviorIndicator.Evaluate([], _behavior).Flagged);
        Assert.False(BehaviorIndicator.Evaluate([new("i1", Day, "disruption", "minor"), new("i2", Day.AddDays(3), "defiance", "moderate")], _behavior).Flagged);
        var major = BehaviorIndicator.Evaluate([new("i1", Day, "fighting", "major")], _behavior);
        Assert.True(major.Flagged);
        Assert.Equal(RiskKinds.Behavior, major.Kind);
        Assert.Contains("1 of them major or a suspension", major.Explanation);
        Assert.True(BehaviorIndicator.Evaluate([new("i1", Day, "out-of-school-suspension", "moderate")], _behavior).Flagged);
    }

    [Fact]
    public void Three_incidents_within_the_window_flag_but_not_when_spread_over_more_than_it()
    {
        Incident At(int day) => new($"i{day}", Day.AddDays(day), "disruption", "minor");
        var close = BehaviorIndicator.Evaluate([At(0), At(30), At(60)], _behavior);
        Assert.True(close.Flagged);
        Assert.Equal(3, close.Score);
        var spread = BehaviorIndicator.Evaluate([At(0), At(100), At(200)], _behavior);
        Assert.False(spread.Flagged);
        Assert.Equal(1, spread.Score);   // only the latest is inside the 90 days to the latest incident
        Assert.True(BehaviorIndicator.Evaluate([At(0), At(100), At(200)], new BehaviorIndicatorOptions { WindowDays = 365 }).Flagged);
    }

    [Fact]
    public void One_failure_this_term_flags_course_performance_and_an_old_term_does_not_count()
    {
        Assert.False(CoursePerformanceIndicator.Evaluate([], _course).Flagged);
        var passing = CoursePerformanceIndicator.Evaluate([new("math", "T1", 75, Day), new("ela", "T1", 82, Day)], _course);
        Assert.False(passing.Flagged);
        var failing = CoursePerformanceIndicator.Evaluate([new("math", "T1", 52, Day), new("ela", "T1", 82, Day), new("sci", "T1", 90, Day)], _course);
        Assert.True(failing.Flagged);
        Assert.Equal(1.0 / 3, failing.Score, 6);
        Assert.StartsWith("Failing 1 of 3 course(s) in T1", failing.Explanation);
        // Last term's failure, this term's passes: not flagged (the latest mark's term is the current one).
        Assert.False(CoursePerformanceIndicator.Evaluate([new("math", "T1", 40, Day), new("math", "T2", 78, Day.AddDays(100)), new("ela", "T2", 80, Day.AddDays(100))], _course).Flagged);
    }

    [Fact]
    public void A_low_average_flags_without_a_failure_and_a_falling_mark_is_named()
    {
        var low = CoursePerformanceIndicator.Evaluate([new("math", "T1", 64, Day), new("ela", "T1", 66, Day)], _course);
        Assert.True(low.Flagged);
        Assert.Equal(0, low.Score);
        Assert.Contains("average 65 %", low.Explanation);
        var falling = CoursePerformanceIndicator.Evaluate([new("math", "T1", 88, Day), new("math", "T1", 71, Day.AddDays(40))], _course);
        Assert.False(falling.Flagged);   // the latest mark of the course counts: 71
        Assert.Contains("1 mark(s) down more than 10 points", falling.Explanation);
    }
}
