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
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Beacon.EarlyWarning.Tests;

public sealed class NightlyScheduleTests
{
    private static readonly TimeZoneInfo Paris = TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris");

    [Theory]
    [InlineData("2026-09-08T01:59:00+00:00", "2026-09-08T02:00:00+00:00")]
    [InlineData("2026-09-08T02:00:00+00:00", "2026-09-09T02:00:00+00:00")]   // strictly after: not twice in one night
    [InlineData("2026-09-08T23:00:00+00:00", "2026-09-09T02:00:00+00:00")]
    public void Next_run_is_the_first_NightlyAt_after_now(string now, string expected) =>
        Assert.Equal(DateTimeOffset.Parse(expected), new NightlyRescoreOptions { NightlyAt = "02:00" }.NextAfter(DateTimeOffset.Parse(now), TimeZoneInfo.Utc));

    [Fact]
    public void Nightly_time_is_local_to_the_district()
    {
        // 02:00 in Paris in September is 00:00 UTC (summer time, +02:00).
        var next = new NightlyRescoreOptions { NightlyAt = "02:00" }.NextAfter(DateTimeOffset.Parse("2026-09-07T23:00:00+00:00"), Paris);
        Assert.Equal(DateTimeOffset.Parse("2026-09-08T00:00:00+00:00"), next);
    }

    [Fact]
    public void A_malformed_time_is_refused() => Assert.False(new NightlyRescoreOptions { NightlyAt = "2am" }.TryGetAt(out _));
}

/// <summary>The hosted nightly re-score, against the real RabbitMQ, driven by a hand-moved clock.</summary>
public sealed class NightlyRescoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = DateTimeOffset.Parse("2026-09-08T01:59:00+00:00");
    private readonly ManualClock _clock = new(Start);
    private readonly ClockedService _service;
    private HttpClient _client = null!;

    public NightlyRescoreTests() => _service = new ClockedService(_clock)
    {
        Settings =
        {
            ["EarlyWarning:Models:Trees"] = "40",
            ["EarlyWarning:Scoring:NightlyAt"] = "02:00",
            ["EarlyWarning:Scoring:PollInterval"] = "00:00:00.100",
        },
    };

    private sealed class ClockedService(ManualClock clock) : ServiceFactory<Program>
    {
        protected override void ConfigureTestServices(IServiceCollection services) => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock));
    }

    public async Task InitializeAsync()
    {
        await _service.WaitUntilReadyAsync();
        _client = _service.CreateClient();
    }

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private Task<JsonElement> StatusAsync() => _client.GetFromJsonAsync<JsonElement>("/api/early-warning/v1/scoring/nightly");

    [Fact]
    public async Task Rescores_every_student_when_the_nightly_time_comes_and_records_the_run()
    {
        using (var train = await _client.PostAsJsonAsync("/api/early-warning/v1/models/train", new { kind = "chronic-absence", students = 1500, seed = 3, promote = true }))
        {
            Assert.Equal(HttpStatusCode.OK, train.StatusCode);
        }
        var student = $"stu-{Guid.NewGuid():N}";
        var bus = _service.Services.GetRequiredService<IBus>();
        for (var i = 0; i < 12; i++)
        {
            await bus.Publish(new AttendanceRecorded(student, "school-n", new DateOnly(2026, 9, 7).AddDays(i / 5 * 7 + i % 5), i % 3 == 0 ? "absent" : "present", false, DateTimeOffset.UtcNow));
        }
        var live = await Eventually.WaitAsync(
            () => _service.WithDbAsync<EarlyWarningDbContext, StudentRiskScore?>(db => db.RiskScores.AsNoTracking().FirstOrDefaultAsync(s => s.StudentId == student)),
            s => s is not null, TimeSpan.FromSeconds(120));
        Assert.Equal(Start, live!.ScoredAt);   // scored by the event, at the (frozen) clock's time
        // Every day in (the score is written in the unit of work of its days), so the score below is the one after all twelve.
        await Eventually.WaitAsync(() => _service.WithDbAsync<EarlyWarningDbContext, int>(db => db.AttendanceDays.CountAsync(d => d.StudentId == student)),
            n => n == 12, TimeSpan.FromSeconds(120));
        live = await _service.WithDbAsync<EarlyWarningDbContext, StudentRiskScore?>(db => db.RiskScores.AsNoTracking().FirstOrDefaultAsync(s => s.StudentId == student));

        // Before 02:00 nothing runs, however many times the job looks at the clock.
        await Task.Delay(TimeSpan.FromSeconds(1));
        var before = await StatusAsync();
        Assert.Equal(0, before.GetProperty("runs").GetInt32());
        Assert.Equal(DateTimeOffset.Parse("2026-09-08T02:00:00+00:00"), before.GetProperty("nextRunAt").GetDateTimeOffset());

        var night = DateTimeOffset.Parse("2026-09-08T02:00:05+00:00");
        _clock.Set(night);
        var after = await Eventually.WaitAsync(StatusAsync, s => s.GetProperty("runs").GetInt32() == 1, TimeSpan.FromSeconds(60));
        Assert.StartsWith("re-scored", after.GetProperty("lastOutcome").GetString());
        Assert.Equal(night, after.GetProperty("lastRunAt").GetDateTimeOffset());
        Assert.True(after.GetProperty("lastStudentsScored").GetInt32() >= 1);
        Assert.Equal(DateTimeOffset.Parse("2026-09-09T02:00:00+00:00"), after.GetProperty("nextRunAt").GetDateTimeOffset());
        var rescored = await _service.WithDbAsync<EarlyWarningDbContext, StudentRiskScore?>(db => db.RiskScores.AsNoTracking().FirstOrDefaultAsync(s => s.StudentId == student));
        // The same days and model give the same score, flag and factors: the row is not rewritten (the steady nightly state is reads
        // and predictions), so it still carries the event's time; it is rewritten when something in it changes, or once a week.
        Assert.Equal(live!.Score, rescored!.Score);
        Assert.Equal(live.FactorsJson, rescored.FactorsJson);
        Assert.Equal(Start, rescored.ScoredAt);

        // Once a night: the job keeps looking but does not run again until tomorrow's 02:00.
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(1, (await StatusAsync()).GetProperty("runs").GetInt32());
    }
}
