using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Storage;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.EarlyWarning.Tests;

/// <summary>GET risks (what counselors see through the gateway), against the real RabbitMQ after a train + promote.</summary>
public sealed class FlaggedRisksTests : IAsyncLifetime
{
    private readonly ServiceFactory<Program> _service = new() { Settings = { ["EarlyWarning:Models:Trees"] = "40" } };
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        await _service.WaitUntilReadyAsync();
        _client = _service.CreateClient();
    }

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Fact]
    public async Task Lists_the_flagged_students_of_a_school_with_score_band_version_and_factors_in_plain_words()
    {
        using var train = await _client.PostAsJsonAsync("/api/early-warning/v1/models/train", new { kind = "chronic-absence", students = 1500, seed = 5, promote = true });
        Assert.Equal(HttpStatusCode.OK, train.StatusCode);
        var model = await train.Content.ReadFromJsonAsync<JsonElement>();

        var school = $"school-{Guid.NewGuid():N}"[..20];
        var sliding = $"stu-{Guid.NewGuid():N}";
        var steady = $"stu-{Guid.NewGuid():N}";
        var bus = _service.Services.GetRequiredService<IBus>();
        var day = new DateOnly(2026, 9, 7);
        foreach (var (student, pattern) in new[] { (sliding, "PPPPPPPPPPAPAAPAAA"), (steady, "PPPPPPPPPPPPPPPPPP") })
        {
            foreach (var (c, i) in pattern.Select((c, i) => (c, i)))
            {
                await bus.Publish(new AttendanceRecorded(student, school, day.AddDays(i / 5 * 7 + i % 5), c == 'A' ? "absent" : "present", false, DateTimeOffset.UtcNow));
            }
        }
        // Both students have all 18 days scored; the sliding one is flagged.
        await Eventually.WaitAsync(
            () => _service.WithDbAsync<EarlyWarningDbContext, List<StudentRiskScore>>(db => db.RiskScores.AsNoTracking().Where(s => s.SchoolId == school).ToListAsync()),
            scores => scores.Count == 2 && scores.Any(s => s.StudentId == sliding && s.Flagged), TimeSpan.FromSeconds(120));
        await Eventually.WaitAsync(
            () => _service.WithDbAsync<EarlyWarningDbContext, int>(db => db.AttendanceDays.CountAsync(d => d.StudentId == sliding || d.StudentId == steady)),
            n => n == 36, TimeSpan.FromSeconds(120));

        var flagged = await _client.GetFromJsonAsync<JsonElement>($"/api/early-warning/v1/risks?schoolId={school}&flaggedOnly=true");
        var risk = Assert.Single(flagged.GetProperty("risks").EnumerateArray());
        Assert.Equal(1, flagged.GetProperty("total").GetInt32());
        Assert.Equal(sliding, risk.GetProperty("studentId").GetString());
        Assert.Equal(school, risk.GetProperty("schoolId").GetString());
        Assert.True(risk.GetProperty("flagged").GetBoolean());
        Assert.True(risk.GetProperty("score").GetDouble() >= risk.GetProperty("threshold").GetDouble() * 0.8);
        Assert.Equal(1, risk.GetProperty("modelVersion").GetInt32());
        Assert.Equal(model.GetProperty("modelId").GetString(), risk.GetProperty("modelId").GetString());
        var factors = risk.GetProperty("factors").EnumerateArray().Select(f => f.GetProperty("text").GetString()!).ToArray();
        Assert.NotEmpty(factors);
        // Counselor words, not feature names: e.g. "missed 4 of the last 5 school days".
        Assert.All(factors, f => Assert.Contains(' ', f));
        Assert.Contains(factors, f => f.Contains("missed") || f.Contains("absen"));
        Assert.StartsWith("Estimated", risk.GetProperty("explanation").GetString());

        // Without flaggedOnly=true it still defaults to flagged only; flaggedOnly=false lists everyone, highest first.
        var byDefault = await _client.GetFromJsonAsync<JsonElement>($"/api/early-warning/v1/risks?schoolId={school}");
        Assert.Single(byDefault.GetProperty("risks").EnumerateArray());
        var everyone = await _client.GetFromJsonAsync<JsonElement>($"/api/early-warning/v1/risks?schoolId={school}&flaggedOnly=false");
        var ids = everyone.GetProperty("risks").EnumerateArray().Select(r => r.GetProperty("studentId").GetString()!).ToArray();
        Assert.Equal(new[] { sliding, steady }, ids);

        using var bad = await _client.GetAsync("/api/early-warning/v1/risks?limit=-1");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("limit", await bad.Content.ReadAsStringAsync());
    }
}
