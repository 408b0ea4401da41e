using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.EarlyWarning.Tests;

/// <summary>
/// A district's capacity per school (issue #25 item 6): a model flags at most the share of a school the district set,
/// the highest scores first; a school without a cap is flagged by the threshold alone. Real broker, a trained model.
/// </summary>
public sealed class SchoolCapacityTests : IAsyncLifetime
{
    private readonly string _capped = $"cap-{Guid.NewGuid():N}"[..12];
    private readonly string _uncapped = $"nocap-{Guid.NewGuid():N}"[..14];
    private readonly ServiceFactory<Program> _service;

    public SchoolCapacityTests()
    {
        _service = new()
        {
            Settings =
            {
                ["EarlyWarning:Models:Trees"] = "40",
                // No district-wide cap; one school's own 10 %.
                [$"EarlyWarning:Models:SchoolCapacities:{_capped}"] = "0.1",
            },
        };
    }

    public Task InitializeAsync() => _service.WaitUntilReadyAsync();

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Theory]
    [InlineData(new[] { 0.9, 0.1, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.05 }, 0.2, "s2")] // 2 of 10: 0.9 (s0), 0.8 (s2)
    [InlineData(new[] { 0.9, 0.1, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.05 }, 0.05, "s0")] // under one student: still one
    [InlineData(new[] { 0.5, 0.7, 0.5, 0.5, 0.1 }, 0.4, "s0")] // 2 of 5 with a tie at the line: 0.7, then the first id at 0.5
    [InlineData(new[] { 0.9 }, 0.5, null)] // everyone fits
    public void The_capacity_line_is_the_kth_student_by_score_then_id(double[] scores, double share, string? last)
    {
        var line = SchoolCapacity.LineFor(scores.Select((s, i) => ($"s{i}", s)).ToList(), share);
        Assert.Equal(last, line?.StudentId);
        if (line is not null)
        {
            Assert.Equal(Math.Max(1, (int)(share * scores.Length)), scores.Select((s, i) => ($"s{i}", s)).Count(x => line.Admits(x.Item1, x.s)));
        }
    }

    [Fact]
    public async Task A_capped_school_has_at_most_its_share_flagged_the_highest_first_and_an_uncapped_one_the_threshold_decides()
    {
        using var client = _service.CreateClient();
        string modelId;
        using (var train = await client.PostAsJsonAsync("/api/early-warning/v1/models/train", new { kind = "chronic-absence", students = 1500, seed = 11, promote = true }))
        {
            Assert.Equal(HttpStatusCode.OK, train.StatusCode);
            modelId = (await train.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("modelId").GetString()!;
        }
        // A generous district threshold (the top half of the calibration slice), so the threshold alone would flag many.
        using (var threshold = await client.PostAsJsonAsync($"/api/early-warning/v1/models/{modelId}/thresholds", new { flagTopShare = 0.5 }))
        {
            Assert.Equal(HttpStatusCode.OK, threshold.StatusCode);
        }
        // 40 students a school, 20 school days; student i is absent on about i/2 of them (0 to 19): many chronically absent.
        // The last 20 weekdays (the rescore scores as of now).
        var schoolDays = Enumerable.Range(1, 40).Select(n => DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-n))
            .Where(d => d.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday)).Take(20).Order().ToArray();
        var records = new List<AttendanceRecorded>();
        foreach (var school in new[] { _capped, _uncapped })
        {
            for (var i = 0; i < 40; i++)
            {
                for (var d = 0; d < 20; d++)
                {
                    var absent = (d * 7 + i) % 20 < i / 2;
                    records.Add(new AttendanceRecorded($"{school}-s{i:00}", school, schoolDays[d], absent ? "absent" : "present", false, DateTimeOffset.UtcNow));
                }
            }
        }
        await _service.Services.GetRequiredService<IBus>().Publish(new AttendanceBatchRecorded(records));
        await Eventually.WaitAsync(() => ScoresAsync(_capped, _uncapped), s => s.Count == 80, TimeSpan.FromSeconds(90));
        using (var rescore = await client.PostAsJsonAsync("/api/early-warning/v1/models/rescore", new { kind = "chronic-absence" }))
        {
            Assert.Equal(HttpStatusCode.OK, rescore.StatusCode);
        }

        var capped = await ScoresAsync(_capped);
        var overThreshold = capped.Count(s => s.Score >= s.Threshold);
        Assert.True(overThreshold > 4, $"the cap must bind for the test to mean anything: only {overThreshold} of 40 at or above the threshold: "
            + string.Join(", ", capped.OrderBy(s => s.StudentId).Select(s => $"{s.StudentId[^3..]} {s.Score:F3}/{s.Threshold:F3} {s.Band}")));
        var flagged = capped.Where(s => s.Flagged).ToList();
        Assert.True(flagged.Min(s => s.Score) >= capped.Where(s => !s.Flagged).Max(s => s.Score), "the flagged are the highest scores");
        Assert.Equal(4, flagged.Count); // ties at the line are broken by student id: exactly the share
        var fourth = capped.Select(s => s.Score).OrderDescending().ElementAt(3);
        Assert.All(capped, s => Assert.Equal(fourth, s.CapacityLine));

        // The same students in a school without a cap: the threshold alone decides, so more are flagged, no line.
        var uncapped = await ScoresAsync(_uncapped);
        Assert.All(uncapped.Where(s => s.Score >= s.Threshold), s => Assert.True(s.Flagged));
        Assert.True(uncapped.Count(s => s.Flagged) > 4);
        Assert.All(uncapped, s => Assert.Null(s.CapacityLine));

        // The API says why a high score is not flagged.
        var notFlaggedHigh = capped.Where(s => !s.Flagged && s.Score >= s.Threshold).OrderByDescending(s => s.Score).First();
        var risk = await client.GetFromJsonAsync<JsonElement>($"/api/early-warning/v1/students/{notFlaggedHigh.StudentId}/risk");
        Assert.False(risk.GetProperty("flagged").GetBoolean());
        Assert.Equal("high", risk.GetProperty("band").GetString());
        Assert.Equal(fourth, risk.GetProperty("capacityLine").GetDouble(), 9);

        // A later signal is scored against the line of the school's stored scores: a student above it is flagged the same
        // day (one over the share until the next rescore), one below it is not.
        var newcomer = $"{_capped}-late";
        await _service.Services.GetRequiredService<IBus>().Publish(new AttendanceBatchRecorded(
            Enumerable.Range(0, 20).Select(d => new AttendanceRecorded(newcomer, _capped, schoolDays[d], d % 10 == 0 ? "present" : "absent", false, DateTimeOffset.UtcNow)).ToList()));
        var late = await Eventually.WaitAsync(() => ScoresAsync(_capped), s => s.Count == 41, TimeSpan.FromSeconds(60));
        Assert.NotNull(late.Single(s => s.StudentId == newcomer).CapacityLine);
        var scoredLate = late.Single(s => s.StudentId == newcomer);
        Assert.Equal(scoredLate.Score >= scoredLate.CapacityLine && scoredLate.Score >= scoredLate.Threshold, scoredLate.Flagged);
        Assert.Equal(flagged.Count + (scoredLate.Flagged ? 1 : 0), late.Count(s => s.Flagged));
    }

    private Task<List<StudentRiskScore>> ScoresAsync(params string[] schools) =>
        _service.WithDbAsync<EarlyWarningDbContext, List<StudentRiskScore>>(db =>
            db.RiskScores.AsNoTracking().Where(s => schools.Contains(s.SchoolId) && s.Kind == "chronic-absence").ToListAsync());
}
