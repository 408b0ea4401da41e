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

/// <summary>Outcomes derived from the data at a year's end (real RabbitMQ): the year's absence rate and the roster's exits become labels, once.</summary>
public sealed class DerivedOutcomesTests : IAsyncLifetime
{
    // A short school year in the past: Mon 2025-09-01 to Fri 2025-09-26, 20 school days.
    private static readonly DateOnly First = new(2025, 9, 1), Last = new(2025, 9, 26);
    private const string Derive = "/api/early-warning/v1/monitoring/outcomes/derive";

    private readonly ServiceFactory<Program> _service = new()
    {
        Settings = { ["EarlyWarning:Monitoring:Enabled"] = "false", ["EarlyWarning:ChronicAbsence:MinimumDays"] = "5" },
    };

    public Task InitializeAsync() => _service.WaitUntilReadyAsync();

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private Task PublishAsync(object message) => _service.Services.GetRequiredService<IBus>().Publish(message);

    private static IEnumerable<DateOnly> SchoolDays(DateOnly from, DateOnly to)
    {
        for (var day = from; day <= to; day = day.AddDays(1))
        {
            if (day.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday))
            {
                yield return day;
            }
        }
    }

    private Task<Dictionary<string, string>> LabelsAsync(string prefix) => _service.WithDbAsync<EarlyWarningDbContext, Dictionary<string, string>>(async db =>
        (await db.YearOutcomes.AsNoTracking().Where(o => o.StudentId.StartsWith(prefix)).ToListAsync())
            .ToDictionary(o => $"{o.StudentId[prefix.Length..]}/{o.Kind}", o => $"{o.Outcome}:{o.AtRisk}:{o.KnownOn:MM-dd}"));

    private async Task<JsonElement> DeriveAsync(object body)
    {
        using var response = await _service.CreateClient().PostAsJsonAsync(Derive, body);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("years");
    }

    [Fact]
    public async Task A_finished_year_gives_chronic_absence_from_its_rate_and_dropout_from_exits_once_and_a_hand_correction_stands()
    {
        var p = $"s{Guid.NewGuid():N}"[..10] + "-";
        var year = $"{p}year";
        await PublishAsync(new SchoolCalendarRecorded(null, year, First, Last, [], DateTimeOffset.UtcNow));
        AttendanceRecorded Day(string student, DateOnly date, string status) => new(p + student, "north", date, status, false, DateTimeOffset.UtcNow);
        // a: absent 3 of 20 days (15 %); b: present every day; c: present until the 12th, dropped out on the 15th.
        var absent = new[] { new DateOnly(2025, 9, 3), new DateOnly(2025, 9, 10), new DateOnly(2025, 9, 17) };
        await PublishAsync(new AttendanceBatchRecorded([
            .. SchoolDays(First, Last).Select(d => Day("a", d, absent.Contains(d) ? "absent" : "present")),
            .. SchoolDays(First, Last).Select(d => Day("b", d, "present")),
            .. SchoolDays(First, new DateOnly(2025, 9, 12)).Select(d => Day("c", d, "present")),
        ]));
        var exitDay = new DateTimeOffset(2025, 9, 15, 12, 0, 0, TimeSpan.Zero);
        StudentExited Exit(string student, string code) => new(p + student, "north", "tobedeleted in users.csv", exitDay, code);
        await PublishAsync(Exit("c", ExitCodes.DroppedOut));
        await PublishAsync(Exit("d", ExitCodes.Graduated));
        await PublishAsync(Exit("e", ExitCodes.Transferred));
        await Eventually.WaitAsync(() => _service.WithDbAsync<EarlyWarningDbContext, (int, int, int)>(async db => (
                await db.CalendarYears.CountAsync(c => c.SchoolYear == year), await db.StudentExits.CountAsync(e => e.StudentId.StartsWith(p)),
                await db.AttendanceDays.CountAsync(d => d.StudentId.StartsWith(p)))),
            n => n == (1, 3, 50), TimeSpan.FromSeconds(60));

        var derived = Assert.Single((await DeriveAsync(new { })).EnumerateArray());
        Assert.Equal((year, 7), (derived.GetProperty("schoolYear").GetString(), derived.GetProperty("added").GetInt32()));
        var expected = new Dictionary<string, string>
        {
            ["a/chronic-absence"] = "chronically-absent:True:09-26",
            ["a/dropout"] = "finished-year:False:09-26",
            ["b/chronic-absence"] = "term-under-10pct-absence:False:09-26",
            ["b/dropout"] = "finished-year:False:09-26",
            ["c/chronic-absence"] = "term-under-10pct-absence:False:09-15",   // 11 school days to the day they left, none missed
            ["c/dropout"] = "dropped-out:True:09-15",
            ["d/dropout"] = "graduated:False:09-15",
            // e transferred: the outcome is not observed here, no label
        };
        Assert.Equal(expected, await LabelsAsync(p));
        // The monitoring report's labels: the same outcomes, marked as derived.
        var current = await _service.WithDbAsync<EarlyWarningDbContext, List<OutcomeLabel>>(db => db.Outcomes.AsNoTracking().Where(o => o.StudentId.StartsWith(p)).ToListAsync());
        Assert.Equal(7, current.Count);
        Assert.All(current, o => Assert.Equal("derived", o.Source));

        // The year-end job does not derive a year twice; a redelivered exit and deriving the year again on demand add nothing.
        Assert.Empty((await DeriveAsync(new { })).EnumerateArray());
        await PublishAsync(Exit("c", ExitCodes.DroppedOut));
        await Task.Delay(1000);
        Assert.Equal(0, Assert.Single((await DeriveAsync(new { schoolYear = year })).EnumerateArray()).GetProperty("added").GetInt32());
        Assert.Equal(expected, await LabelsAsync(p));

        // Ops correct a label by hand; the derivation never overwrites it.
        using (var correction = await _service.CreateClient().PostAsJsonAsync("/api/early-warning/v1/monitoring/outcomes",
            new { outcomes = new[] { new { studentId = p + "a", kind = "chronic-absence", outcome = "term-under-10pct-absence", knownOn = "2025-09-26" } } }))
        {
            Assert.Equal(HttpStatusCode.OK, correction.StatusCode);
        }
        await _service.WithDbAsync<EarlyWarningDbContext, int>(db => db.YearOutcomes.Where(o => o.StudentId == p + "a").ExecuteDeleteAsync());
        Assert.Equal(1, Assert.Single((await DeriveAsync(new { schoolYear = year })).EnumerateArray()).GetProperty("manualKept").GetInt32());
        var a = await _service.WithDbAsync<EarlyWarningDbContext, OutcomeLabel?>(db => db.Outcomes.AsNoTracking().FirstOrDefaultAsync(o => o.StudentId == p + "a" && o.Kind == "chronic-absence"));
        Assert.Equal(("term-under-10pct-absence", (string?)null), (a!.Outcome, a.Source));

        // A year that is not in the calendar (or not finished) is a 400 naming the field.
        using var unknown = await _service.CreateClient().PostAsJsonAsync(Derive, new { schoolYear = "1999-2000" });
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("schoolYear", await unknown.Content.ReadAsStringAsync());
    }
}
