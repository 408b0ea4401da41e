namespace Beacon.RiskModels.Monitoring;

/// <summary>One scored student at one point in time: the calibrated score, whether they were flagged, and the truth once known.</summary>
public readonly record struct ScoredStudent(double Score, bool Flagged, bool? Label);

/// <summary>
/// Realised figures on the labelled students (null until labels exist) beside the figures expected from
/// the calibrated scores of all students (confidence-based estimation: a flagged student with score s is a
/// true positive with probability s), so ops see an estimate before the truth and both once it arrives.
/// </summary>
public sealed record PerformanceFigures(
    int Students,
    int Flagged,
    int Labelled,
    int Positives,
    double? FalsePositiveRate,
    double? Precision,
    double? PrecisionAtTopK,
    double? Recall,
    double? ExpectedCalibrationError,
    double ExpectedPrecision,
    double ExpectedFalsePositiveRate,
    double ExpectedRecall)
{
    public static PerformanceFigures Compute(IReadOnlyList<ScoredStudent> students, double topShare = 0.10)
    {
        var scores = students.Select(s => s.Score).ToArray();
        var flaggedScores = students.Where(s => s.Flagged).Select(s => s.Score).ToArray();
        var expected = ExpectedPerformance.AtFlags(scores, flaggedScores);

        var labelled = students.Where(s => s.Label is not null).ToArray();
        var positives = labelled.Count(s => s.Label == true);
        var negatives = labelled.Length - positives;
        var flaggedLabelled = labelled.Where(s => s.Flagged).ToArray();
        var truePositives = flaggedLabelled.Count(s => s.Label == true);
        var falsePositives = flaggedLabelled.Length - truePositives;
        double? Ratio(int a, int b) => b == 0 ? null : (double)a / b;
        return new PerformanceFigures(
            students.Count,
            flaggedScores.Length,
            labelled.Length,
            positives,
            Ratio(falsePositives, negatives),
            Ratio(truePositives, flaggedLabelled.Length),
            labelled.Length == 0 ? null : Evaluation.PrecisionAtTop(labelled.Select(s => s.Score).ToArray(), labelled.Select(s => s.Label == true).ToArray(), topShare),
            Ratio(truePositives, positives),
            labelled.Length == 0 ? null : Evaluation.ExpectedCalibrationError(labelled.Select(s => s.Score).ToArray(), labelled.Select(s => s.Label == true).ToArray()),
            expected.Precision,
            expected.FalsePositiveRate,
            expected.Recall);
    }
}

/// <summary>Figures for one subgroup; null figures when the group is too small to show (suppressed).</summary>
public sealed record GroupFigures(string Attribute, string Group, int Students, int Labelled, bool Suppressed, PerformanceFigures? Figures);

/// <summary>The largest difference between two shown groups of one attribute.</summary>
public sealed record GroupGap(string Attribute, string Measure, double Gap, string HighestGroup, double Highest, string LowestGroup, double Lowest);

public sealed record FairnessReport(int MinimumGroupSize, IReadOnlyList<GroupFigures> Groups, IReadOnlyList<GroupGap> Gaps)
{
    public const string FalsePositiveRate = "false-positive-rate";
    public const string Recall = "recall";

    /// <param name="attributes">Per student, attribute name → group (null: not recorded, left out of that attribute).</param>
    public static FairnessReport Compute(IReadOnlyList<ScoredStudent> students, IReadOnlyList<IReadOnlyDictionary<string, string?>> attributes,
        int minimumGroupSize, double topShare = 0.10)
    {
        var groups = new List<GroupFigures>();
        var names = attributes.SelectMany(a => a.Keys).Distinct().Order(StringComparer.Ordinal).ToArray();
        foreach (var name in names)
        {
            var byGroup = Enumerable.Range(0, students.Count)
                .Where(i => attributes[i].GetValueOrDefault(name) is not null)
                .GroupBy(i => attributes[i][name]!)
                .OrderBy(g => g.Key, StringComparer.Ordinal);
            foreach (var group in byGroup)
            {
                var members = group.Select(i => students[i]).ToArray();
                var labelled = members.Count(s => s.Label is not null);
                // Small groups are not shown at all: a rate over a handful of students both misleads and can identify them.
                var suppressed = labelled < minimumGroupSize;
                groups.Add(new GroupFigures(name, group.Key, suppressed ? 0 : members.Length, suppressed ? 0 : labelled, suppressed,
                    suppressed ? null : PerformanceFigures.Compute(members, topShare)));
            }
        }
        var gaps = new List<GroupGap>();
        foreach (var name in names)
        {
            foreach (var (measure, pick) in new (string, Func<PerformanceFigures, double?>)[] { (FalsePositiveRate, f => f.FalsePositiveRate), (Recall, f => f.Recall) })
            {
                var shown = groups.Where(g => g.Attribute == name && g.Figures is not null && pick(g.Figures) is not null)
                    .Select(g => (g.Group, Value: pick(g.Figures!)!.Value)).ToArray();
                if (shown.Length < 2)
                {
                    continue;
                }
                var high = shown.MaxBy(x => x.Value);
                var low = shown.MinBy(x => x.Value);
                gaps.Add(new GroupGap(name, measure, high.Value - low.Value, high.Group, high.Value, low.Group, low.Value));
            }
        }
        return new FairnessReport(minimumGroupSize, groups, gaps.OrderByDescending(g => g.Gap).ToArray());
    }
}
