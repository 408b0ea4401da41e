using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.EarlyWarning.Tests;

public sealed class PrecisionThresholdTests
{
    // Scores 1.0 … 0.1; labels: the top 4 true, then false, true, false, false, true, false.
    private static readonly double[] Scores = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1];
    private static readonly bool[] Labels = [true, true, true, true, false, true, false, false, true, false];

    [Fact]
    public void The_lowest_threshold_that_keeps_the_precision_is_chosen()
    {
        // ≥ 0.8: the top 6 hold 5 true (0.83); the top 9 hold 6 (0.67); the top 10 hold 6 (0.6).
        Assert.Equal(0.5, Evaluation.ThresholdForPrecision(Scores, Labels, 0.8, minimumFlagged: 1));
        Assert.Equal(0.2, Evaluation.ThresholdForPrecision(Scores, Labels, 0.65, minimumFlagged: 1));
        Assert.Equal(0.7, Evaluation.ThresholdForPrecision(Scores, Labels, 1.0, minimumFlagged: 1));
    }

    [Fact]
    public void A_precision_only_a_handful_reach_is_refused()
    {
        Assert.Null(Evaluation.ThresholdForPrecision(Scores, Labels, 1.0, minimumFlagged: 5));
        var (precision, share) = Evaluation.AtThreshold(Scores, Labels, 0.5);
        Assert.Equal(5.0 / 6, precision, 10);
        Assert.Equal(0.6, share, 10);
    }
}

/// <summary>Per-district thresholds over REST, against the real RabbitMQ: chosen to a target on the calibration slice, used by scoring.</summary>
public sealed class DistrictThresholdTests : IAsyncLifetime
{
    private readonly ServiceFactory<Program> _service = new() { Settings = { ["EarlyWarning:Models:Trees"] = "40", ["Beacon:DistrictId"] = "district-7" } };
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        await _service.WaitUntilReadyAsync();
        _client = _service.CreateClient();
    }

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private async Task<(HttpStatusCode Status, JsonElement Body)> SetAsync(string modelId, object target)
    {
        using var response = await _client.PostAsJsonAsync($"/api/early-warning/v1/models/{modelId}/thresholds", target);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 && text.TrimStart().StartsWith('{') ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }

    [Fact]
    public async Task A_district_target_sets_the_threshold_scoring_uses_and_bad_or_impossible_targets_are_refused_clearly()
    {
        using var train = await _client.PostAsJsonAsync("/api/early-warning/v1/models/train", new { kind = "chronic-absence", students = 1500, seed = 4, promote = true });
        Assert.Equal(HttpStatusCode.OK, train.StatusCode);
        var model = await train.Content.ReadFromJsonAsync<JsonElement>();
        var modelId = model.GetProperty("modelId").GetString()!;
        var modelThreshold = model.GetProperty("threshold").GetDouble();

        // Flag only the top 3 %: a stricter line than the model's own top 10 %, for this deployment's district.
        var (status, top) = await SetAsync(modelId, new { flagTopShare = 0.03 });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("district-7", top.GetProperty("districtId").GetString());
        Assert.Equal("flag-top-share", top.GetProperty("target").GetString());
        Assert.True(top.GetProperty("threshold").GetDouble() > modelThreshold, $"{top.GetProperty("threshold").GetDouble()} vs {modelThreshold}");
        Assert.InRange(top.GetProperty("calibrationFlaggedShare").GetDouble(), 0.025, 0.06);   // ties at the line may add a few

        // Precision ≥ 50 % for another district: the flagged set on the calibration slice really has that precision.
        var (precisionStatus, precise) = await SetAsync(modelId, new { districtId = "district-9", minPrecision = 0.5 });
        Assert.Equal(HttpStatusCode.OK, precisionStatus);
        Assert.True(precise.GetProperty("calibrationPrecision").GetDouble() >= 0.5);
        Assert.Contains("precision", precise.GetProperty("rule").GetString());

        var listed = await _client.GetFromJsonAsync<JsonElement>($"/api/early-warning/v1/models/{modelId}");
        Assert.Equal(new[] { "district-7", "district-9" }, listed.GetProperty("districtThresholds").EnumerateArray().Select(t => t.GetProperty("districtId").GetString()!).Order().ToArray());

        // Scoring in district-7 uses district-7's threshold, not the model's.
        var student = $"stu-{Guid.NewGuid():N}";
        var bus = _service.Services.GetRequiredService<IBus>();
        for (var i = 0; i < 12; i++)
        {
            await bus.Publish(new AttendanceRecorded(student, "school-d", new DateOnly(2026, 9, 7).AddDays(i / 5 * 7 + i % 5), i % 3 == 0 ? "absent" : "present", false, DateTimeOffset.UtcNow));
        }
        var scored = await Eventually.WaitAsync(
            () => _service.WithDbAsync<EarlyWarningDbContext, StudentRiskScore?>(db => db.RiskScores.AsNoTracking().FirstOrDefaultAsync(s => s.StudentId == student)),
            s => s is not null, TimeSpan.FromSeconds(120));
        Assert.Equal(top.GetProperty("threshold").GetDouble(), scored!.Threshold, 10);

        // Refusals: both targets, neither, out of range, unreachable precision → 400 with the reason; unknown model → 404.
        Assert.Equal(HttpStatusCode.BadRequest, (await SetAsync(modelId, new { flagTopShare = 0.1, minPrecision = 0.5 })).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await SetAsync(modelId, new { })).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await SetAsync(modelId, new { flagTopShare = 1.5 })).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await SetAsync(Guid.NewGuid().ToString(), new { flagTopShare = 0.1 })).Status);

        // A version registered before calibration scores were kept: nothing to choose on → 409 saying so.
        var old = Guid.NewGuid();
        await _service.WithDbAsync<EarlyWarningDbContext, int>(async db =>
        {
            var record = await db.Models.AsNoTracking().FirstAsync(m => m.ModelId == Guid.Parse(modelId));
            var card = RiskModelFile.DeserializeCard(record.CardJson) with { Calibration = null };
            db.Models.Add(new ModelVersionRecord
            {
                ModelId = old,
                Kind = record.Kind,
                Version = 99,
                Algorithm = record.Algorithm,
                Status = "retired",
                Threshold = record.Threshold,
                DataSource = record.DataSource,
                FileName = record.FileName,
                CardJson = RiskModelFile.SerializeCard(card),
            });
            return await db.SaveChangesAsync();
        });
        using var conflict = await _client.PostAsJsonAsync($"/api/early-warning/v1/models/{old}/thresholds", new { flagTopShare = 0.1 });
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Contains("calibration scores", await conflict.Content.ReadAsStringAsync());
    }
}
