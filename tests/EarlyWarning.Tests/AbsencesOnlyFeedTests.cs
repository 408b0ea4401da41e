using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Apis;
using Beacon.EarlyWarning.Monitoring;
using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Calendars;
using Beacon.RiskModels.Dropout;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.EarlyWarning.Tests;

/// <summary>
/// An absences-only feed and the full feed it stands for, side by side through the service (real RabbitMQ): with a
/// calendar the models get the same inputs and give the same scores, live and in a training set from history; without
/// one the inputs are the days with a record (the documented behaviour).
/// </summary>
public sealed class AbsencesOnlyFeedTests : IAsyncLifetime
{
    // Mon 2029-09-03 to Fri 2030-06-14; Mon 2029-09-10 is a holiday. The feeds report through school day 25. (Dates no other
    // test class uses: their events reach this service too, on the same broker.)
    private static readonly SchoolYearCalendar Calendar = new("", new DateOnly(2029, 9, 3), new DateOnly(2030, 6, 14), new HashSet<DateOnly> { new(2029, 9, 10) });
    private const int Reported = 25, Point = 20;

    // Each student's absences (school days), the same in both feeds; one also arrives late once (a tardy).
    private static readonly int[][] Patterns =
    [
        [3, 4, 11, 20, 21, 25],
        [24],                                  // no record before the scoring point in the absences-only feed
        [1, 2, 5, 6, 7, 8, 9, 10, 12, 15],
        [13, 14],
    ];
    private const int TardyPattern = 3, TardyDay = 6;

    private readonly ServiceFactory<Program> _service = new()
    {
        Settings = { ["EarlyWarning:Models:Trees"] = "40", ["EarlyWarning:Monitoring:Enabled"] = "false", ["EarlyWarning:Scoring:Enabled"] = "false" },
    };
    private readonly string _p = $"a{Guid.NewGuid():N}"[..9];

    public Task InitializeAsync() => _service.WaitUntilReadyAsync();

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private static DateOnly Day(int n) => Calendar.SchoolDay(n)!.Value;

    private string Student(string feed, int pattern) => $"{_p}-{feed}-{pattern}";

    /// <summary>Each day's records arrive on its evening (so a training set knows day n at the end of day n).</summary>
    private AttendanceRecorded Record(string feed, int pattern, int day, string status) =>
        new(Student(feed, pattern), $"{_p}-{feed}", Day(day), status, false, new DateTimeOffset(Day(day).ToDateTime(new TimeOnly(18, 0)), TimeSpan.Zero));

    private static string Status(int pattern, int day) =>
        Patterns[pattern].Contains(day) ? "absent" : pattern == TardyPattern && day == TardyDay ? "tardy" : "present";

    private async Task PublishAsync(params object[] messages)
    {
        var bus = _service.Services.GetRequiredService<IBus>();
        foreach (var message in messages)
        {
            await bus.Publish(message);
        }
    }

    /// <summary>Both feeds of every pattern: "full" sends every school day, "sparse" only the absences (and the tardy).</summary>
    private async Task LoadFeedsAsync(bool withCalendar)
    {
        if (withCalendar)
        {
            // Written as the calendar consumer keeps it (SchoolCalendarTests covers that path), without the bus.
            await _service.WithDbAsync<EarlyWarningDbContext, int>(db =>
            {
                db.CalendarYears.Add(new CalendarYearRow
                {
                    SchoolYear = $"{_p}-year",
                    FirstDay = Calendar.FirstDay,
                    LastDay = Calendar.LastDay,
                    NonInstructionalJson = JsonSerializer.Serialize(Calendar.NonInstructional.Select(d => new { From = d, To = d })),
                    OccurredAt = DateTimeOffset.UtcNow,
                });
                return db.SaveChangesAsync();
            });
        }
        var full = Enumerable.Range(1, Reported).SelectMany(d => Patterns.Select((_, p) => Record("full", p, d, Status(p, d)))).ToList();
        // The sparse feed's records of the last reported day come first, so each student's last record is counted with
        // the school reported through that day, as a full feed's last record is (later days wait for the nightly re-score).
        var sparse = full.Where(r => r.Status != "present").Select(r => r with { StudentId = r.StudentId.Replace("-full-", "-sparse-"), SchoolId = $"{_p}-sparse" })
            .OrderBy(r => r.Date == Day(Reported) ? 0 : 1).ThenBy(r => r.Date).ToList();
        await PublishAsync(new AttendanceBatchRecorded(full), new AttendanceBatchRecorded(sparse));
        await Eventually.WaitAsync(() => _service.WithDbAsync<EarlyWarningDbContext, int>(db => db.AttendanceVersions.CountAsync(v => v.StudentId.StartsWith(_p))),
            n => n == full.Count + sparse.Count, TimeSpan.FromSeconds(60));
    }

    private async Task<Dictionary<string, float[]>> FeaturesAsync(HttpClient client, string kind)
    {
        var export = await client.GetFromJsonAsync<FeatureExport>($"/api/early-warning/v1/features?kind={kind}&asOf={Day(Reported):yyyy-MM-dd}");
        return export!.Students.ToDictionary(s => s.StudentId, s => s.Values.ToArray());
    }

    [Fact]
    public async Task With_a_calendar_an_absences_only_feed_gives_the_full_feeds_inputs_and_scores_live_and_in_a_history_training_set()
    {
        var client = _service.CreateClient();
        using (var train = await client.PostAsJsonAsync("/api/early-warning/v1/models/train", new { kind = "chronic-absence", students = 2000, seed = 3, promote = true }))
        {
            Assert.Equal(HttpStatusCode.OK, train.StatusCode);
        }
        await LoadFeedsAsync(withCalendar: true);
        var patterns = Enumerable.Range(0, Patterns.Length).ToArray();

        // The indicator and the live score (each student scored at their records, as the batch arrived).
        var states = await _service.WithDbAsync<EarlyWarningDbContext, Dictionary<string, StudentRiskState>>(db => db.RiskStates.AsNoTracking().ToDictionaryAsync(s => s.StudentId));
        var live = await ScoresAsync();
        foreach (var p in patterns)
        {
            Assert.Equal((Reported, Patterns[p].Length), (states[Student("sparse", p)].DaysEnrolled, states[Student("sparse", p)].DaysAbsent));
            Assert.Equal((states[Student("full", p)].DaysEnrolled, states[Student("full", p)].DaysAbsent), (states[Student("sparse", p)].DaysEnrolled, states[Student("sparse", p)].DaysAbsent));
            Assert.Equal(live[Student("full", p)], live[Student("sparse", p)]);
        }
        Assert.NotEqual(live[Student("full", 0)], live[Student("full", 2)]);   // the scores say something

        // The scoring path's read (the re-score, nightly or on request) and the inputs it computes, for both kinds.
        using (var rescore = await client.PostAsJsonAsync("/api/early-warning/v1/models/rescore", new { kind = "chronic-absence" }))
        {
            Assert.Equal(HttpStatusCode.OK, rescore.StatusCode);
        }
        var rescored = await ScoresAsync();
        foreach (var kind in new[] { AttendanceFeatures.Kind, K12DropoutFeatures.Kind })
        {
            var inputs = await FeaturesAsync(client, kind);
            foreach (var p in patterns)
            {
                Assert.Equal(inputs[Student("full", p)], inputs[Student("sparse", p)]);
            }
        }
        foreach (var p in patterns)
        {
            Assert.Equal(rescored[Student("full", p)], rescored[Student("sparse", p)]);
            Assert.Equal(live[Student("full", p)], rescored[Student("full", p)]);
        }

        // A training set from history at school day 20, as known then: the same inputs for both feeds (the second pattern
        // has no record by then in the sparse feed: present every day the school reported), and so the same score.
        await _service.WithDbAsync<EarlyWarningDbContext, int>(db =>
        {
            foreach (var student in patterns.SelectMany(p => new[] { Student("full", p), Student("sparse", p) }))
            {
                db.YearOutcomes.Add(new YearOutcomeRow { StudentId = student, Kind = AttendanceFeatures.Kind, SchoolYear = $"{_p}-year", Outcome = "term-under-10pct-absence", KnownOn = Calendar.LastDay });
                db.YearOutcomes.Add(new YearOutcomeRow { StudentId = student, Kind = K12DropoutFeatures.Kind, SchoolYear = $"{_p}-year", Outcome = "finished-year", KnownOn = Calendar.LastDay });
            }
            return db.SaveChangesAsync();
        });
        using var scope = _service.Services.CreateScope();
        var history = scope.ServiceProvider.GetRequiredService<HistoryTrainingSet>();
        var db = scope.ServiceProvider.GetRequiredService<EarlyWarningDbContext>();
        var model = scope.ServiceProvider.GetRequiredService<LoadedModels>().Get(await db.Models.AsNoTracking().SingleAsync(m => m.Kind == AttendanceFeatures.Kind && m.Status == ModelStatus.Active));
        foreach (var kind in new[] { AttendanceFeatures.Kind, K12DropoutFeatures.Kind })
        {
            var set = (await history.BuildAsync(kind, Point, [$"{_p}-year"], default)).ToDictionary(e => e.StudentId);
            Assert.Equal(patterns.Length * 2, set.Count);
            foreach (var p in patterns)
            {
                Assert.Equal(Day(Point), set[Student("sparse", p)].Point);
                Assert.Equal(set[Student("full", p)].Features, set[Student("sparse", p)].Features);
            }
            Assert.Equal(Point, set[Student("sparse", 1)].Features[0]);   // days enrolled (days recorded) by the point
            if (kind == AttendanceFeatures.Kind)
            {
                Assert.All(patterns, p => Assert.Equal(model.Predict(set[Student("full", p)].Features).Probability, model.Predict(set[Student("sparse", p)].Features).Probability));
                // As of the point: the full feed's first 20 days (pattern 0 is absent on days 3, 4, 11 and 20 of them).
                Assert.Equal(AttendanceFeatures.Compute(Enumerable.Range(1, Point).Select(d => new SchoolDay(Day(d), Status(0, d)))), set[Student("sparse", 0)].Features);
            }
        }
    }

    [Fact]
    public async Task Without_a_calendar_the_inputs_are_the_days_with_a_record_so_an_absences_only_feed_is_absent_every_day()
    {
        var client = _service.CreateClient();
        await LoadFeedsAsync(withCalendar: false);
        var states = await _service.WithDbAsync<EarlyWarningDbContext, Dictionary<string, StudentRiskState>>(db => db.RiskStates.AsNoTracking().ToDictionaryAsync(s => s.StudentId));
        var inputs = await FeaturesAsync(client, AttendanceFeatures.Kind);
        var (days, rate) = (AttendanceFeatures.Set.IndexOf("days_enrolled"), AttendanceFeatures.Set.IndexOf("absence_rate"));
        foreach (var p in Enumerable.Range(0, Patterns.Length))
        {
            var named = Patterns[p].Length + (p == TardyPattern ? 1 : 0);
            Assert.Equal((named, Patterns[p].Length), (states[Student("sparse", p)].DaysEnrolled, states[Student("sparse", p)].DaysAbsent));
            Assert.Equal((float)named, inputs[Student("sparse", p)][days]);
            Assert.Equal((float)Patterns[p].Length / named, inputs[Student("sparse", p)][rate]);
            // The full feed is counted over its 25 recorded days.
            Assert.Equal((float)Patterns[p].Length / Reported, inputs[Student("full", p)][rate]);
        }
    }

    private Task<Dictionary<string, double>> ScoresAsync() =>
        _service.WithDbAsync<EarlyWarningDbContext, Dictionary<string, double>>(db =>
            db.RiskScores.AsNoTracking().Where(s => s.Kind == AttendanceFeatures.Kind).ToDictionaryAsync(s => s.StudentId, s => s.Score));
}
