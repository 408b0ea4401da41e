using Beacon.RiskModels;
using Beacon.RiskModels.Attendance;
using Xunit.Abstractions;

namespace Beacon.EarlyWarning.Tests;

/// <summary>
/// The early line of a model trained across the term: a calibrated model is unsure in the first weeks, so its scores there rarely
/// reach the threshold chosen on the first third of the term, and it flagged nobody before school day 16 on the simulated year
/// (bench/RESULTS.md). The line flags the top share at each early school day instead, until the threshold flags more.
/// </summary>
public sealed class EarlyLineTests(SmallModel small, ITestOutputHelper output) : IClassFixture<SmallModel>
{
    [Fact]
    public void The_line_takes_the_top_share_near_each_early_day_never_falls_and_ends_at_the_threshold()
    {
        // Rows at school days 10–40, 100 a day; scores rise with the day (surer later), and the top tenth of a day sits at 0.1 + day / 100.
        var rows = Enumerable.Range(10, 31).SelectMany(day => Enumerable.Range(0, 100).Select(k => (Day: day, Score: (0.1 + day / 100.0) * k / 90.0))).ToArray();
        var line = Evaluation.EarlyLine([.. rows.Select(r => (int?)r.Day)], [.. rows.Select(r => r.Score)], 0.10, threshold: 0.40)!;
        output.WriteLine(string.Join(" ", line.Select((t, i) => $"{i + 1}:{t:F3}")));
        Assert.All(Enumerable.Range(1, line.Count - 1), i => Assert.True(line[i] >= line[i - 1]));
        Assert.All(line, t => Assert.True(t < 0.40));
        Assert.Equal(line[9], line[0]);                                 // days before the first trained at take its line
        Assert.InRange(line[9], 0.10 + 10 / 100.0, 0.10 + 15 / 100.0);  // day 10 pools days 10–15
        Assert.InRange(line.Count, 20, 30);                              // the threshold takes over when the top tenth reaches it
        Assert.Equal(0.40, Evaluation.LineAt(line, 0.40, line.Count + 1));
        Assert.Equal(0.40, Evaluation.LineAt(null, 0.40, 5));
        Assert.Null(Evaluation.EarlyLine([null, 3], [0.1, 0.2], 0.10, 0.40));   // no points, no line
    }

    [Fact]
    public void Early_in_the_term_the_line_flags_about_the_top_share_and_more_than_the_threshold_alone()
    {
        var served = small.Result.Served;
        Assert.NotNull(served.EarlyLine);
        var folder = Path.Combine(Path.GetTempPath(), "beacon-tests", $"line-{Guid.NewGuid():N}");
        var model = new RiskModel(RiskModelFile.Save(small.Result, folder), AttendanceFeatures.Kind, served.Threshold, earlyLine: served.EarlyLine);
        Directory.Delete(folder, recursive: true);
        var simulator = new AttendanceSimulator(seed: 91);
        var cohort = simulator.Generate(2000, new DateOnly(2026, 9, 1));
        var line = served.EarlyLine!;
        float[][] At(int day) => [.. cohort.Select(s => AttendanceFeatures.Compute(s.Days.Take(day)))];
        Assert.InRange(line.Count, 5, 90);   // the line holds at least the first week
        foreach (var day in new[] { 3, 5 })
        {
            var features = At(day);
            var scores = model.Probabilities(features);
            var atLine = features.Select((f, i) => scores[i] >= model.ThresholdFor(f, model.Threshold)).Count(x => x);
            var atThreshold = scores.Count(p => p >= model.Threshold);
            output.WriteLine($"school day {day}: line {model.ThresholdFor(features[0], model.Threshold):F3} flags {atLine}, the threshold {model.Threshold:F3} flags {atThreshold} of {cohort.Count}");
            Assert.InRange(atLine, cohort.Count / 40, cohort.Count / 4);
            Assert.True(atLine > atThreshold, $"school day {day}: the line flags {atLine}, the threshold alone {atThreshold}");
        }
        // Once the threshold flags more than the line would, the threshold alone.
        Assert.Equal(model.Threshold, model.ThresholdFor(At(line.Count + 1)[0], model.Threshold));
        // A district's own threshold (chosen to a target of its own) replaces the line.
        var early = AttendanceFeatures.Compute(cohort[0].Days.Take(12));
        Assert.Equal(0.9, model.ThresholdFor(early, 0.9));
    }
}
