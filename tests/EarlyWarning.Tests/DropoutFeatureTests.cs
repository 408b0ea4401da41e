using Beacon.RiskModels;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Dropout;

namespace Beacon.EarlyWarning.Tests;

/// <summary>The K-12 dropout features: each computed from its signal, as of a date, in counselor words.</summary>
public sealed class DropoutFeatureTests
{
    private static readonly DateOnly Monday = new(2026, 9, 7);
    private static readonly FeatureSet Set = K12DropoutFeatures.Set;

    private static float F(float[] f, string name) => f[Set.IndexOf(name)];

    private static string Say(float[] f, string name) => Set.Describe(Set.IndexOf(name), f);

    private static StudentSignals Signals(IReadOnlyList<SchoolDay>? days = null, IReadOnlyList<MarkSignal>? marks = null,
        IReadOnlyList<IncidentSignal>? incidents = null, IReadOnlyList<MasterySignal>? mastery = null, IReadOnlyList<LmsSignal>? lms = null) =>
        new(days ?? [], marks ?? [], incidents ?? [], mastery ?? [], lms ?? []);

    [Fact]
    public void Course_features_read_the_latest_term_and_the_trend_against_the_term_before()
    {
        var marks = new[]
        {
            new MarkSignal("math", "P1", 80, Monday), new MarkSignal("ela", "P1", 70, Monday),
            new MarkSignal("math", "P2", 50, Monday.AddDays(30)), new MarkSignal("ela", "P2", 64, Monday.AddDays(30)), new MarkSignal("art", "P2", 90, Monday.AddDays(30)),
        };
        var f = K12DropoutFeatures.Compute(Signals(marks: marks), Monday.AddDays(31));
        Assert.Equal(3, F(f, "courses_graded"));
        Assert.Equal(1, F(f, "courses_failing"));
        Assert.Equal(68, F(f, "mean_mark"), 3);
        Assert.Equal(50, F(f, "lowest_mark"));
        Assert.Equal(-18, F(f, "mark_trend"), 3);   // math 80→50, ela 70→64: mean 75 → 57
        Assert.Equal("failing 1 of 3 courses", Say(f, "courses_failing"));
        Assert.Equal("marks down 18 points since the last marking period", Say(f, "mark_trend"));
    }

    [Fact]
    public void Signals_dated_after_the_scoring_date_are_not_seen()
    {
        var signals = Signals(
            days: [new SchoolDay(Monday, "present"), new SchoolDay(Monday.AddDays(1), "absent")],
            marks: [new MarkSignal("math", "P1", 85, Monday), new MarkSignal("math", "P2", 20, Monday.AddDays(40))],
            incidents: [new IncidentSignal(Monday.AddDays(2), "fighting", "major")],
            lms: [new LmsSignal(Monday.AddDays(3), 60)]);
        var asOfMonday = K12DropoutFeatures.Compute(signals, Monday);
        Assert.Equal(1, F(asOfMonday, "days_recorded"));
        Assert.Equal(0, F(asOfMonday, "courses_failing"));
        Assert.Equal(85, F(asOfMonday, "mean_mark"));
        Assert.Equal(0, F(asOfMonday, "incidents_term"));
        Assert.Equal(0, F(asOfMonday, "lms_active_days"));
        var later = K12DropoutFeatures.Compute(signals, Monday.AddDays(40));
        Assert.Equal(1, F(later, "courses_failing"));
        Assert.Equal(1, F(later, "serious_incidents_term"));
        Assert.Equal(38, F(later, "days_since_incident"));
    }

    [Fact]
    public void Behaviour_counts_this_term_and_calls_suspensions_and_major_incidents_serious()
    {
        var incidents = new[]
        {
            new IncidentSignal(Monday.AddDays(-200), "fighting", "major"),   // last year: not this term
            new IncidentSignal(Monday.AddDays(-10), "out-of-school-suspension", "moderate"),
            new IncidentSignal(Monday.AddDays(-5), "disruption", "minor"),
            new IncidentSignal(Monday.AddDays(-2), "defiance", "major"),
        };
        var f = K12DropoutFeatures.Compute(Signals(incidents: incidents), Monday);
        Assert.Equal(3, F(f, "incidents_term"));
        Assert.Equal(2, F(f, "serious_incidents_term"));
        Assert.Equal("3 behaviour incident(s) this term", Say(f, "incidents_term"));
        Assert.Equal("last behaviour incident 2 day(s) ago", Say(f, "days_since_incident"));
    }

    [Fact]
    public void Mastery_and_lms_features_and_their_defaults_when_nothing_is_recorded()
    {
        var none = K12DropoutFeatures.Compute(StudentSignals.None, Monday);
        Assert.Equal(0, F(none, "skills_struggling"));
        Assert.Equal("no course marks yet", Say(none, "courses_failing"));
        Assert.Equal("no behaviour incident in the last year", Say(none, "days_since_incident"));
        Assert.Equal("no LMS activity in the last 90 days", Say(none, "days_since_lms"));

        var f = K12DropoutFeatures.Compute(Signals(
            mastery: [new MasterySignal("a", 0.2, 5), new MasterySignal("b", 0.3, 2), new MasterySignal("c", 0.9, 8)],
            lms: [new LmsSignal(Monday.AddDays(-1), 60), new LmsSignal(Monday.AddDays(-1), 30), new LmsSignal(Monday.AddDays(-20), 60), new LmsSignal(Monday.AddDays(-45), 60)]), Monday);
        Assert.Equal(1, F(f, "skills_struggling"));   // b has too few tries to judge
        Assert.Equal(0.4667, F(f, "mean_mastery"), 3);
        Assert.Equal(2, F(f, "lms_active_days"));
        Assert.Equal(1, F(f, "days_since_lms"));
    }

    [Fact]
    public void The_cold_start_model_beats_the_abc_count_on_other_students()
    {
        var data = K12DropoutSimulator.Dataset(6000, 3000, seed: 11);
        // Each student is cut at one school day of the term, from the rule's first day to the last, and sees only what was dated by then.
        Assert.All(data.Train.Concat(data.Test), e => Assert.Equal(e.Point, (int)e.Features[K12DropoutFeatures.Set.IndexOf("days_recorded")]));
        Assert.Equal(Enumerable.Range(10, 81), data.Train.Select(e => e.Point!.Value).Distinct().Order());
        var result = new RiskModelTrainer().Train(data, new TrainingOptions { Trees = 80 });
        Assert.True(result.Served.Report.Auc > result.Baseline.Auc, $"model {result.Served.Report.Auc:F3} vs ABC count {result.Baseline.Auc:F3}");
        Assert.True(result.Served.Report.ExpectedCalibrationError < 0.05, $"ECE {result.Served.Report.ExpectedCalibrationError:F3}");
    }
}
