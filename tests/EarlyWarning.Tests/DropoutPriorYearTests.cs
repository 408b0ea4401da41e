using Beacon.RiskModels;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Calendars;
using Beacon.RiskModels.Dropout;
using Beacon.RiskModels.History;

namespace Beacon.EarlyWarning.Tests;

/// <summary>The dropout model's previous-year inputs: last year's incidents and marks, read from the records dated in it.</summary>
public sealed class DropoutPriorYearTests
{
    private static readonly SchoolYearCalendar LastYear = new("2025-2026", new(2025, 8, 25), new(2026, 6, 5), new HashSet<DateOnly>());
    private static readonly DateOnly ThisYear = new(2026, 8, 24);
    private static readonly FeatureSet Set = K12PriorYear.Set;

    private static float F(float[] f, string name) => f[Set.IndexOf(name)];

    private static string Say(float[] f, string name) => Set.Describe(Set.IndexOf(name), f);

    [Fact]
    public void Last_years_incidents_and_marks_are_counted_and_this_years_are_not()
    {
        var signals = new StudentSignals(
            [new SchoolDay(new(2025, 9, 1), "absent"), new SchoolDay(ThisYear, "absent")],
            [
                new MarkSignal("MATH8", "Q1", 40, new(2025, 10, 31)), new MarkSignal("MATH8", "Q4", 55, new(2026, 6, 5)),
                new MarkSignal("ENG8", "Q1", 94, new(2025, 10, 31)), new MarkSignal("ENG8", "Q4", 75, new(2026, 6, 5)),
                new MarkSignal("MATH9", "P1", 10, ThisYear),
            ],
            [
                new IncidentSignal(new(2025, 9, 3), "out-of-school-suspension", "major"), new IncidentSignal(new(2025, 11, 3), "defiance", "minor"),
                new IncidentSignal(new(2026, 2, 3), "in-school-suspension", "moderate"), new IncidentSignal(ThisYear, "fighting", "major"),
            ],
            [], []);
        var prior = PriorYearRecord.Of(signals, LastYear, feedSendsPresentDays: false);
        Assert.NotNull(prior);
        var f = K12PriorYear.Append(K12DropoutFeatures.Compute(signals.Since(ThisYear), ThisYear), prior);
        Assert.Equal(Set.Count, f.Length);
        Assert.Equal(K12DropoutFeatures.Compute(signals.Since(ThisYear), ThisYear), f.Take(K12DropoutFeatures.Set.Count));
        Assert.Equal((1f, 1f, 1f), (F(f, K12PriorYear.MinorFeature), F(f, K12PriorYear.ModerateFeature), F(f, K12PriorYear.MajorFeature)));
        Assert.Equal(2, F(f, K12PriorYear.SuspensionsFeature));
        Assert.Equal(2, F(f, K12PriorYear.GradedFeature));
        Assert.Equal(1, F(f, K12PriorYear.FailedFeature));   // a course fails on its final mark: MATH8 55 (its 40 was a quarter's)
        Assert.Equal(66, F(f, K12PriorYear.MeanMarkFeature));   // every mark of the year, (40 + 55 + 94 + 75) / 4, not the finals (65)
        Assert.Equal(LastYear.InstructionalDays(LastYear.FirstDay, LastYear.LastDay), F(f, PriorYear.DaysFeature));
        Assert.Equal("failed 1 of 2 courses last year", Say(f, K12PriorYear.FailedFeature));
        Assert.Equal("2 suspension(s) last year", Say(f, K12PriorYear.SuspensionsFeature));
    }

    [Fact]
    public void An_unknown_previous_year_is_zero_counts_no_courses_and_no_reason()
    {
        Assert.Null(PriorYearRecord.Of(new StudentSignals([new SchoolDay(ThisYear, "absent")], [], [], [], []), LastYear, false));
        Assert.Null(PriorYearRecord.Of(StudentSignals.None, previous: null, false));
        var f = K12PriorYear.Append(K12DropoutFeatures.Compute(StudentSignals.None, ThisYear), null);
        Assert.Equal(0, F(f, K12PriorYear.SuspensionsFeature));
        Assert.Equal(0, F(f, K12PriorYear.GradedFeature));
        Assert.Equal("no course marks known from last year", Say(f, K12PriorYear.MeanMarkFeature));
        Assert.All(Enumerable.Range(K12DropoutFeatures.Set.Count, Set.Count - K12DropoutFeatures.Set.Count),
            i => Assert.False(Set.Features[i].IsReason(f, Set, contribution: 0.3), Set.Features[i].Name));
        Assert.True(K12PriorYear.IsIn(Set.Names));
        Assert.False(K12PriorYear.IsIn(PriorYear.Extend(K12DropoutFeatures.Set).Names));
    }

    [Fact]
    public void The_rules_over_both_years_count_last_years_flags()
    {
        var none = K12PriorYear.Append(K12DropoutFeatures.Compute(StudentSignals.None, ThisYear), null);
        var suspended = K12PriorYear.Append(K12DropoutFeatures.Compute(StudentSignals.None, ThisYear),
            new PriorYearRecord(new PriorYearAttendance(170, 40), [new IncidentSignal(new(2025, 9, 3), "out-of-school-suspension", "major")], []));
        var both = K12PriorYear.Indicators[^1];
        Assert.Equal(0, both.Score(none));
        Assert.Equal(2, both.Score(suspended));   // chronically absent and suspended last year
        Assert.True(both.Flag(suspended));
        Assert.False(both.Flag(none));
    }
}
