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

/// <summary>The attendance projection fed from the real bus, and the effect report over the service's own database.</summary>
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
}
