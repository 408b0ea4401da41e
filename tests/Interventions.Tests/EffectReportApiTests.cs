using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.Interventions.Domain;
using Beacon.Interventions.Storage;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Beacon.Interventions.Tests;

/// <summary>
/// The attendance projection and the daily risk-score history fed from the real bus, and the effect report (attendance, and
/// risk scores) over the service's own database.
/// </summary>
public sealed class EffectReportApiTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly ServiceFactory<Program> _service = new();

    public Task InitializeAsync() => _service.WaitUntilReadyAsync();

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Fact]
    public async Task AttendanceRecorded_events_build_the_projection_and_a_correction_overwrites_the_day()
    {
        var bus = _service.Services.GetRequiredService<IBus>();
        var student = $"stu-{Guid.NewGuid():N}";
        var day = new DateOnly(2026, 11, 2);
        await bus.Publish(new AttendanceRecorded(student, "sch", day, "absent", false, DateTimeOffset.UtcNow));
        await bus.Publish(new AttendanceRecorded(student, "sch", day.AddDays(1), "tardy", false, DateTimeOffset.UtcNow));
        await Eventually.WaitAsync(() => _service.WithDbAsync<InterventionsDbContext, int>(db => db.Attendance.CountAsync(a => a.StudentId == student)), n => n == 2, TimeSpan.FromSeconds(60));
        await bus.Publish(new AttendanceRecorded(student, "sch", day, "present", true, DateTimeOffset.UtcNow));

        var days = await Eventually.WaitAsync(
            () => _service.WithDbAsync<InterventionsDbContext, List<AttendanceDay>>(db => db.Attendance.Where(a => a.StudentId == student).OrderBy(a => a.Date).ToListAsync()),
            d => d.Count == 2 && d[0].Attended, TimeSpan.FromSeconds(60));
        Assert.Equal([true, true], days.Select(d => d.Attended));
        Assert.Equal("present", days[0].Status);
    }

    [Fact]
    public async Task The_effect_report_over_stored_cases_and_attendance_contains_the_planted_effect()
    {
        var sim = new EffectSimulator(seed: 2026);
        await _service.WithDbAsync<InterventionsDbContext, int>(async db =>
        {
            db.Attendance.AddRange(sim.AttendanceRows());
            db.Cases.AddRange(sim.Treated.Select(EffectSimulator.CompletedCase));
            return await db.SaveChangesAsync();
        });

        using var client = _service.CreateClient();
        var report = await client.GetFromJsonAsync<JsonElement>("/api/interventions/v1/effect-report?windowWeeks=2");
        output.WriteLine(report.ToString());
        var outreach = report.GetProperty("interventionTypes").EnumerateArray().Single(r => r.GetProperty("type").GetString() == "attendance-outreach");
        var ci = outreach.GetProperty("ci95");
        Assert.InRange(EffectSimulator.OutreachEffect, ci[0].GetDouble(), ci[1].GetDouble());
        Assert.True(outreach.GetProperty("cases").GetInt32() >= 45);
        // The database path gives exactly what the estimator gives on the same data.
        var direct = EffectEstimator.Estimate(sim.Treated, sim.Days, sim.FirstCaseOpened, new EffectSettings(WindowWeeks: 2)).Single(r => r.InterventionType == "attendance-outreach");
        Assert.Equal(Math.Round(direct.Difference, 4), outreach.GetProperty("difference").GetDouble());
        Assert.Equal(direct.Cases, outreach.GetProperty("cases").GetInt32());

        using var bad = await client.GetAsync("/api/interventions/v1/effect-report?windowWeeks=5");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    private static RiskScoreChanged Score(string student, double score, DateTimeOffset at) =>
        new(student, "sch", "chronic-absence", score, score >= 0.5 ? "high" : "elevated", score >= 0.5, Guid.Empty, 1, [], at);

    [Fact]
    public async Task RiskScoresChanged_keeps_the_newest_score_of_each_day_and_a_late_or_repeated_copy_changes_nothing()
    {
        var bus = _service.Services.GetRequiredService<IBus>();
        var student = $"stu-{Guid.NewGuid():N}";
        var day = new DateTimeOffset(2026, 11, 2, 0, 0, 0, TimeSpan.Zero);
        var first = new RiskScoresChanged([Score(student, 0.30, day.AddHours(8)), Score(student, 0.55, day.AddHours(18)), Score(student, 0.40, day.AddDays(1).AddHours(8))]);
        await bus.Publish(first);
        Task<List<RiskScoreDay>> Points() => _service.WithDbAsync<InterventionsDbContext, List<RiskScoreDay>>(db => db.RiskScoreDays.AsNoTracking().Where(p => p.StudentId == student).OrderBy(p => p.Day).ToListAsync());
        var points = await Eventually.WaitAsync(Points, p => p.Count == 2, TimeSpan.FromSeconds(60));
        Assert.Equal([0.55, 0.40], points.Select(p => p.Score));

        // The same message again, then an older score of the first day arriving late with a new day's: only the new day is added.
        await bus.Publish(first);
        await bus.Publish(new RiskScoresChanged([Score(student, 0.90, day.AddHours(12)), Score(student, 0.35, day.AddDays(2).AddHours(8))]));
        points = await Eventually.WaitAsync(Points, p => p.Count == 3, TimeSpan.FromSeconds(60));
        Assert.Equal([0.55, 0.40, 0.35], points.Select(p => p.Score));
        Assert.Equal(new DateOnly(2026, 11, 2), points[0].Day);
        var band = await _service.WithDbAsync<InterventionsDbContext, StudentRiskBand>(db => db.RiskBands.AsNoTracking().SingleAsync(b => b.StudentId == student));
        Assert.Equal(0.35, band.Score);
    }

    [Fact]
    public async Task The_risk_effect_over_stored_cases_and_scores_contains_the_planted_effect()
    {
        var sim = new EffectSimulator(seed: 2028);
        var points = sim.RiskPoints();
        await _service.WithDbAsync<InterventionsDbContext, int>(async db =>
        {
            db.RiskScoreDays.AddRange(points.Select(p => new RiskScoreDay
            {
                StudentId = p.StudentId,
                Kind = p.Kind,
                Day = p.Day,
                SchoolId = p.SchoolId,
                Score = p.Score,
                ScoredAt = new DateTimeOffset(p.Day.ToDateTime(new TimeOnly(6, 0)), TimeSpan.Zero),
            }));
            // Every fifth case was closed rather than completed: it counts too.
            db.Cases.AddRange(sim.Treated.Select((t, i) =>
            {
                var c = EffectSimulator.CompletedCase(t);
                c.Status = i % 5 == 0 ? CaseStatuses.Closed : CaseStatuses.Completed;
                return c;
            }));
            return await db.SaveChangesAsync();
        });

        using var client = _service.CreateClient();
        var report = await client.GetFromJsonAsync<JsonElement>("/api/interventions/v1/effect-report?windowWeeks=2&outcome=risk");
        output.WriteLine(report.ToString());
        Assert.Equal("risk", report.GetProperty("outcome").GetString());
        var rows = report.GetProperty("interventionTypes").EnumerateArray().ToList();
        var outreach = rows.Single(r => r.GetProperty("kind").GetString() == "chronic-absence" && r.GetProperty("type").GetString() == "attendance-outreach");
        var ci = outreach.GetProperty("ci95");
        Assert.InRange(EffectSimulator.OutreachRiskEffect, ci[0].GetDouble(), ci[1].GetDouble());
        Assert.True(ci[1].GetDouble() < 0);
        // The database path gives exactly what the estimator gives on the same data, closed cases included.
        var direct = RiskEffectEstimator.Estimate(sim.Treated, points, sim.FirstCaseOpened, new RiskEffectSettings(WindowWeeks: 2));
        Assert.Equal(direct.Count, rows.Count);
        var same = direct.Single(r => r.Kind == "chronic-absence" && r.Effect.InterventionType == "attendance-outreach").Effect;
        Assert.Equal((Math.Round(same.Difference, 4), same.Cases), (outreach.GetProperty("difference").GetDouble(), outreach.GetProperty("cases").GetInt32()));
        Assert.Equal(sim.Treated.Count(t => t.InterventionType == "attendance-outreach"), same.Cases + same.Excluded);

        using var bad = await client.GetAsync("/api/interventions/v1/effect-report?outcome=grades");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("\"outcome\"", await bad.Content.ReadAsStringAsync());
    }
}
