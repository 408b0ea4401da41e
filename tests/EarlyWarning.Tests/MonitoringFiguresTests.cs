using Beacon.RiskModels.Monitoring;

namespace Beacon.EarlyWarning.Tests;

public sealed class MonitoringFiguresTests
{
    [Fact]
    public void Realised_and_expected_figures_match_hand_computed_values()
    {
        // Flagged: 0.9 (true), 0.6 (false); not flagged: 0.3 (true), 0.2 (false), 0.1 (unlabelled).
        var students = new ScoredStudent[] { new(0.9, true, true), new(0.6, true, false), new(0.3, false, true), new(0.2, false, false), new(0.1, false, null) };
        var f = PerformanceFigures.Compute(students, topShare: 0.25);
        Assert.Equal((5, 2, 4, 2), (f.Students, f.Flagged, f.Labelled, f.Positives));
        Assert.Equal(0.5, f.FalsePositiveRate);   // 1 flagged of 2 labelled negatives
        Assert.Equal(0.5, f.Precision);           // 1 true of 2 flagged
        Assert.Equal(0.5, f.Recall);              // 1 of 2 positives flagged
        Assert.Equal(1.0, f.PrecisionAtTopK);     // top 25 % of 4 labelled = 1 student, 0.9, true
        // Expected from all five scores: TP = 0.9 + 0.6 = 1.5 of 2 flagged; negatives = 5 − 2.1 = 2.9; FP = 0.5.
        Assert.Equal(0.75, f.ExpectedPrecision, 10);
        Assert.Equal(0.5 / 2.9, f.ExpectedFalsePositiveRate, 10);
        Assert.Equal(1.5 / 2.1, f.ExpectedRecall, 10);
        // ECE over labelled, 10 bins, each score alone in its bin: (|0.9−1| + |0.6−0| + |0.3−1| + |0.2−0|) / 4.
        Assert.Equal((0.1 + 0.6 + 0.7 + 0.2) / 4, f.ExpectedCalibrationError!.Value, 10);
    }

    [Fact]
    public void Without_labels_only_the_expected_figures_are_given()
    {
        var f = PerformanceFigures.Compute([new(0.8, true, null), new(0.1, false, null)]);
        Assert.Null(f.FalsePositiveRate);
        Assert.Null(f.Precision);
        Assert.Null(f.Recall);
        Assert.Null(f.ExpectedCalibrationError);
        Assert.Equal(0.8, f.ExpectedPrecision, 10);
    }

    /// <summary>A fixture with a planted gap: group B's negatives are flagged four times as often as group A's.</summary>
    private static (ScoredStudent[] Students, Dictionary<string, string?>[] Attributes) Planted(int smallGroup)
    {
        var students = new List<ScoredStudent>();
        var attributes = new List<Dictionary<string, string?>>();
        void Add(string group, int count, bool flagged, bool label)
        {
            for (var i = 0; i < count; i++)
            {
                students.Add(new ScoredStudent(flagged ? 0.7 : 0.1, flagged, label));
                attributes.Add(new Dictionary<string, string?> { ["english-learner"] = group, ["sex"] = i % 2 == 0 ? "female" : "male" });
            }
        }
        // A: 100 negatives (10 flagged), 20 positives (16 flagged) -> FPR 10 %, recall 80 %.
        Add("A", 10, true, false);
        Add("A", 90, false, false);
        Add("A", 16, true, true);
        Add("A", 4, false, true);
        // B: 50 negatives (20 flagged), 10 positives (5 flagged) -> FPR 40 %, recall 50 %.
        Add("B", 20, true, false);
        Add("B", 30, false, false);
        Add("B", 5, true, true);
        Add("B", 5, false, true);
        // C: a handful, under the minimum: never shown.
        Add("C", smallGroup, true, false);
        return (students.ToArray(), attributes.ToArray());
    }

    [Fact]
    public void Fairness_finds_the_planted_gap_in_false_positive_rate_and_recall()
    {
        var (students, attributes) = Planted(smallGroup: 5);
        var report = FairnessReport.Compute(students, attributes, minimumGroupSize: 20);
        var a = report.Groups.Single(g => g.Attribute == "english-learner" && g.Group == "A").Figures!;
        var b = report.Groups.Single(g => g.Attribute == "english-learner" && g.Group == "B").Figures!;
        Assert.Equal(0.10, a.FalsePositiveRate!.Value, 10);
        Assert.Equal(0.40, b.FalsePositiveRate!.Value, 10);
        Assert.Equal(0.80, a.Recall!.Value, 10);
        Assert.Equal(0.50, b.Recall!.Value, 10);

        var fprGap = report.Gaps.Single(g => g.Attribute == "english-learner" && g.Measure == FairnessReport.FalsePositiveRate);
        Assert.Equal(("B", "A"), (fprGap.HighestGroup, fprGap.LowestGroup));
        Assert.Equal(0.30, fprGap.Gap, 10);
        var recallGap = report.Gaps.Single(g => g.Attribute == "english-learner" && g.Measure == FairnessReport.Recall);
        Assert.Equal(0.30, recallGap.Gap, 10);
        // The largest gap is listed first.
        Assert.Equal("english-learner", report.Gaps[0].Attribute);
    }

    [Fact]
    public void Groups_below_the_minimum_are_suppressed_and_left_out_of_the_gaps()
    {
        var (students, attributes) = Planted(smallGroup: 19);
        var report = FairnessReport.Compute(students, attributes, minimumGroupSize: 20);
        var c = report.Groups.Single(g => g.Group == "C");
        Assert.True(c.Suppressed);
        Assert.Null(c.Figures);
        Assert.Equal(0, c.Students);   // not even the count is shown
        // C (FPR 100 %) would be the highest; suppressed, B is.
        Assert.Equal("B", report.Gaps.Single(g => g.Attribute == "english-learner" && g.Measure == FairnessReport.FalsePositiveRate).HighestGroup);

        var shown = FairnessReport.Compute(Planted(smallGroup: 20).Students, Planted(smallGroup: 20).Attributes, minimumGroupSize: 20);
        Assert.False(shown.Groups.Single(g => g.Group == "C").Suppressed);
        Assert.Equal("C", shown.Gaps.Single(g => g.Attribute == "english-learner" && g.Measure == FairnessReport.FalsePositiveRate).HighestGroup);
    }
}
