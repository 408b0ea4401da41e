using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Monitoring;
using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Calendars;
using Beacon.RiskModels.History;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Beacon.EarlyWarning.Tests;

/// <summary>
/// The previous school year as an input of history-trained models (issue #19): counted as the indicator counts, as known at
/// the scoring point, the same in a training set and on the scoring path; a model trained with it loads with its card's schema.
/// </summary>
public sealed class PriorYearTests(ITestOutputHelper output) : IAsyncLifetime
{
    // Two years no other test class uses (kept apart by date as well as by bus scope): Mon 2033-09-05 and Mon 2034-09-04.
    private static readonly SchoolYearCalendar Year1 = new("py-2033", new DateOnly(2033, 9, 5), new DateOnly(2034, 6, 16), new HashSet<DateOnly>());
    private static readonly SchoolYearCalendar Year2 = new("py-2034", new DateOnly(2034, 9, 4), new DateOnly(2035, 6, 15), new HashSet<DateOnly>());
    private const int Point = 20;

    private readonly ServiceFactory<Program> _service = new()
    {
        Settings =
        {
            ["EarlyWarning:Monitoring:Enabled"] = "false", ["EarlyWarning:Scoring:Enabled"] = "false", ["EarlyWarning:Models:PriorYear"] = "true",
            ["EarlyWarning:Models:Trees"] = "60",
        },
    };
    private readonly string _p = $"py{Guid.NewGuid():N}"[..9];

    public Task InitializeAsync() => _service.WaitUntilReadyAsync();

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Fact]
    public void The_previous_year_is_appended_as_days_rate_and_chronic_and_a_model_trained_with_it_loads_by_its_card()
    {
        Assert.Equal([3f, 4f, 5f, 0f, 0f, 0f], PriorYear.Append([3, 4, 5], null));
        var prior = PriorYear.Of([new SchoolDay(Year1.SchoolDay(2)!.Value, "absent"), new SchoolDay(Year2.FirstDay, "absent")], Year1, feedSendsPresentDays: false);
        // An absences-only year: every school day of it, one absence (the record of the next year is not part of it).
        Assert.Equal(new PriorYearAttendance(Year1.InstructionalDays(Year1.FirstDay, Year1.LastDay), 1), prior);
        Assert.Equal(0f, PriorYear.Append([], prior)[2]);
        Assert.Equal(1f, PriorYear.Append([], new PriorYearAttendance(100, 10))[2]);   // 10 %: chronically absent
        Assert.Null(PriorYear.Of([new SchoolDay(Year2.FirstDay, "absent")], Year1, false));   // no record in that year: unknown
        Assert.Null(PriorYear.Of([new SchoolDay(Year1.FirstDay, "absent")], previous: null, false));

        // A model on the extended set: stumps that only last year's line separates, as a history-trained one might learn.
        var set = PriorYear.Extend(AttendanceFeatures.Set);
        Assert.Equal(set.Names, FeatureSets.For(AttendanceFeatures.Kind, set.Names).Names);
        Assert.Equal(AttendanceFeatures.Set.Names, FeatureSets.For(AttendanceFeatures.Kind, AttendanceFeatures.Set.Names).Names);
        var random = new Random(7);
        LabelledExample Example(int i)
        {
            var chronicLastYear = random.NextDouble() < 0.3;
            var days = Enumerable.Range(0, 20).Select(d => new SchoolDay(Year2.SchoolDay(d + 1)!.Value, random.NextDouble() < 0.05 ? "absent" : "present"));
            var features = PriorYear.Append(AttendanceFeatures.Compute(days), new PriorYearAttendance(170, chronicLastYear ? 30 : 5));
            return new LabelledExample($"s{i}", features, chronicLastYear ? random.NextDouble() < 0.8 : random.NextDouble() < 0.05, Point);
        }
        var data = new RiskDataset(set, [.. Enumerable.Range(0, 1200).Select(Example)], [.. Enumerable.Range(1200, 400).Select(Example)],
            AttendanceFeatures.IndicatorBaseline(), "test: last year decides", "random");
        var result = new RiskModelTrainer().Train(data, new TrainingOptions { Trees = 40, Leaves = 8 });
        Assert.True(result.Served.Report.Auc > 0.8, $"AUC {result.Served.Report.Auc:F3}");
        var card = RiskModelFile.DeserializeCard(RiskModelFile.SerializeCard(RiskModelFile.Card(result)));
        Assert.Equal(set.Names, card.FeatureNames);
        var model = new RiskModel(new MemoryStream(RiskModelFile.Serialize(result)), card.Kind, card.Threshold, card.FeatureNames);
        Assert.Equal(set.Count, model.Features.Count);
        var days = Enumerable.Range(1, 20).Select(d => new SchoolDay(Year2.SchoolDay(d)!.Value, "present")).ToList();
        var chronic = model.Predict(PriorYear.Append(AttendanceFeatures.Compute(days), new PriorYearAttendance(170, 34)));
        var fine = model.Predict(PriorYear.Append(AttendanceFeatures.Compute(days), new PriorYearAttendance(170, 3)));
        Assert.True(chronic.Probability > fine.Probability + 0.3, $"{chronic.Probability:F3} against {fine.Probability:F3}");
        Assert.Contains(chronic.TopFactors, f => f.Text.Contains("last year", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_training_set_and_the_scoring_path_give_the_same_previous_year_inputs_as_known_at_the_point()
    {
        await _service.AddCalendarYearsAsync(Year1, Year2);
        var school = $"{_p}-school";
        var (chronic, steady) = ($"{_p}-chronic", $"{_p}-steady");
        DateTimeOffset Evening(DateOnly d) => new(d.ToDateTime(new TimeOnly(18, 0)), TimeSpan.Zero);
        AttendanceRecorded Day(string student, DateOnly date, string status, DateTimeOffset? at = null) => new(student, school, date, status, false, at ?? Evening(date));
        var year1Days = Enumerable.Range(1, Year1.InstructionalDays(Year1.FirstDay, Year1.LastDay)).Select(n => Year1.SchoolDay(n)!.Value).ToList();
        var year2Days = Enumerable.Range(1, Point).Select(n => Year2.SchoolDay(n)!.Value).ToList();
        var records = new List<AttendanceRecorded>();
        foreach (var (student, everyNth) in new[] { (chronic, 5), (steady, 40) })
        {
            records.AddRange(year1Days.Select((d, i) => Day(student, d, i % everyNth == 0 ? "absent" : "present")));
            records.AddRange(year2Days.Select((d, i) => Day(student, d, i == 3 ? "absent" : "present")));
        }
        // A correction of a previous-year day that arrived after the point: not known then, so not used.
        var late = Day(steady, year1Days[1], "absent", Evening(year2Days[^1]).AddDays(3));
        var bus = _service.Services.GetRequiredService<IBus>();
        await bus.Publish(new AttendanceBatchRecorded(records));
        await bus.Publish(new AttendanceBatchRecorded([late]));
        await Eventually.WaitAsync(() => _service.WithDbAsync<EarlyWarningDbContext, int>(db => db.AttendanceVersions.CountAsync(v => v.StudentId.StartsWith(_p))),
            n => n == records.Count + 1, TimeSpan.FromSeconds(90));
        await _service.WithDbAsync<EarlyWarningDbContext, int>(db =>
        {
            foreach (var student in new[] { chronic, steady })
            {
                db.YearOutcomes.Add(new YearOutcomeRow { StudentId = student, Kind = AttendanceFeatures.Kind, SchoolYear = Year2.Label, Outcome = "term-under-10pct-absence", KnownOn = Year2.LastDay });
            }
            return db.SaveChangesAsync();
        });

        using var scope = _service.Services.CreateScope();
        var set = (await scope.ServiceProvider.GetRequiredService<HistoryTrainingSet>().BuildAsync(AttendanceFeatures.Kind, Point, [Year2.Label], default, withPriorYear: true))
            .ToDictionary(e => e.StudentId);
        var names = PriorYear.Extend(AttendanceFeatures.Set);
        float At(string student, string feature) => set[student].Features[names.IndexOf(feature)];
        Assert.Equal(names.Count, set[chronic].Features.Length);
        Assert.Equal((float)year1Days.Count, At(chronic, PriorYear.DaysFeature));
        Assert.Equal((float)year1Days.Where((_, i) => i % 5 == 0).Count() / year1Days.Count, At(chronic, PriorYear.RateFeature), 5);
        Assert.Equal((1f, 0f), (At(chronic, PriorYear.ChronicFeature), At(steady, PriorYear.ChronicFeature)));
        // The steady student's late correction would add an absence to last year: as known at the point it is not there.
        Assert.Equal((float)year1Days.Where((_, i) => i % 40 == 0).Count() / year1Days.Count, At(steady, PriorYear.RateFeature), 5);

        // The scoring path (the reader every re-score, the nightly job and drift use) gives the same vector as of the point,
        // except the correction, which it now knows: the steady student's last-year rate is one absence higher there.
        var rows = (await scope.ServiceProvider.GetRequiredService<StudentSignalsReader>().LoadAsync(AttendanceFeatures.Kind, [chronic, steady], null, default, year2Days[^1]))
            .ToDictionary(r => r.StudentId);
        Assert.Equal(set[chronic].Features, ScoredKinds.Features(AttendanceFeatures.Kind, rows[chronic].Signals, year2Days[^1], DateTimeOffset.UtcNow, names));
        var served = ScoredKinds.Features(AttendanceFeatures.Kind, rows[steady].Signals, year2Days[^1], DateTimeOffset.UtcNow, names);
        Assert.Equal(set[steady].Features[..AttendanceFeatures.Set.Count], served[..AttendanceFeatures.Set.Count]);
        Assert.Equal((float)(year1Days.Where((_, i) => i % 40 == 0).Count() + 1) / year1Days.Count, served[names.IndexOf(PriorYear.RateFeature)], 5);
        // A model that does not read the previous year gets the kind's inputs only.
        Assert.Equal(AttendanceFeatures.Set.Count, ScoredKinds.Features(AttendanceFeatures.Kind, rows[chronic].Signals, year2Days[^1], DateTimeOffset.UtcNow).Length);
    }
    /// <summary>
    /// Through the API: three short past years of one cohort, outcomes derived, a challenger trained from history with the
    /// previous year. In this district the first 20 days say nothing (everyone misses about one day in twenty); who ends
    /// a year chronically absent is who did last year. The card names the previous year's inputs, the gate scores the
    /// synthetic champion on the kind's inputs alone, and the promoted model re-scores students live.
    /// </summary>
    [Fact]
    public async Task A_model_trained_from_history_with_the_previous_year_registers_its_schema_passes_the_gate_and_scores()
    {
        var firsts = new[] { 2017, 2018, 2019 }.Select(y => Enumerable.Range(1, 7).Select(d => new DateOnly(y, 9, d)).First(d => d.DayOfWeek == DayOfWeek.Monday)).ToArray();
        var labels = firsts.Select(f => $"{_p}-{f.Year}").ToArray();
        await _service.WithDbAsync<EarlyWarningDbContext, int>(db =>
        {
            for (var y = 0; y < firsts.Length; y++)
            {
                db.CalendarYears.Add(new CalendarYearRow { SchoolYear = labels[y], FirstDay = firsts[y], LastDay = firsts[y].AddDays(53), OccurredAt = DateTimeOffset.UtcNow });
            }
            return db.SaveChangesAsync();
        });
        var random = new Random(23);
        var atRisk = Enumerable.Range(0, 150).Select(_ => random.NextDouble() < 0.3).ToArray();
        var records = new List<AttendanceRecorded>();
        foreach (var first in firsts)
        {
            for (var s = 0; s < atRisk.Length; s++)
            {
                var day = 0;
                for (var date = first; day < 40; date = date.AddDays(1))
                {
                    if (date.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday)
                    {
                        continue;
                    }
                    var absent = random.NextDouble() < (day++ < 20 ? 0.05 : atRisk[s] ? 0.4 : 0.02);
                    records.Add(new AttendanceRecorded($"{_p}-s{s}", $"{_p}-school", date, absent ? "absent" : "present", false, new DateTimeOffset(date.ToDateTime(new TimeOnly(18, 0)), TimeSpan.Zero)));
                }
            }
        }
        var bus = _service.Services.GetRequiredService<IBus>();
        foreach (var batch in records.Chunk(500))
        {
            await bus.Publish(new AttendanceBatchRecorded(batch));
        }
        await Eventually.WaitAsync(() => _service.WithDbAsync<EarlyWarningDbContext, int>(db => db.AttendanceVersions.CountAsync(v => v.StudentId.StartsWith(_p))),
            n => n == records.Count, TimeSpan.FromSeconds(180));
        var client = _service.CreateClient();
        foreach (var label in labels)
        {
            using var derived = await client.PostAsJsonAsync("/api/early-warning/v1/monitoring/outcomes/derive", new { schoolYear = label });
            Assert.True(derived.IsSuccessStatusCode, await derived.Content.ReadAsStringAsync());
        }
        await PostAsync(client, "/api/early-warning/v1/models/train", new { kind = "chronic-absence", students = 2000, seed = 8, promote = true });

        var challenger = await PostAsync(client, "/api/early-warning/v1/models/train", new { kind = "chronic-absence", source = "district", schoolDay = Point });
        var gate = JsonDocument.Parse(challenger.GetProperty("promotionGate").GetString()!).RootElement;
        Assert.Contains($"held out {labels[2]}", challenger.GetProperty("dataSource").GetString());
        output.WriteLine($"held out {labels[2]}: challenger AUC {gate.GetProperty("Challenger").GetProperty("Auc").GetDouble():F3}, "
            + $"synthetic champion AUC {gate.GetProperty("Champion").GetProperty("Auc").GetDouble():F3}; {gate.GetProperty("Reason").GetString()}");
        var card = RiskModelFile.DeserializeCard(await _service.WithDbAsync<EarlyWarningDbContext, string>(async db =>
            (await db.Models.AsNoTracking().SingleAsync(m => m.ModelId == Guid.Parse(challenger.GetProperty("modelId").GetString()!))).CardJson));
        Assert.Equal(PriorYear.Extend(AttendanceFeatures.Set).Names, card.FeatureNames);
        // Only last year tells the at-risk students apart here: the challenger sees it, the synthetic champion cannot.
        Assert.True(gate.GetProperty("Promoted").GetBoolean(), gate.GetProperty("Reason").GetString());
        Assert.True(gate.GetProperty("Challenger").GetProperty("Auc").GetDouble() > 0.8, gate.GetRawText());

        // Live: the promoted model re-scores this cohort from the projections, the previous year read as the training set read it.
        var rescored = await PostAsync(client, "/api/early-warning/v1/models/rescore", new { kind = "chronic-absence" });
        Assert.True(rescored.GetProperty("studentsScored").GetInt32() >= atRisk.Length, rescored.GetRawText());
        var scores = await _service.WithDbAsync<EarlyWarningDbContext, Dictionary<string, StudentRiskScore>>(db =>
            db.RiskScores.AsNoTracking().Where(r => r.StudentId.StartsWith(_p)).ToDictionaryAsync(r => r.StudentId));
        var (risky, fine) = (Enumerable.Range(0, atRisk.Length).Where(s => atRisk[s]).Average(s => scores[$"{_p}-s{s}"].Score),
            Enumerable.Range(0, atRisk.Length).Where(s => !atRisk[s]).Average(s => scores[$"{_p}-s{s}"].Score));
        Assert.True(risky > fine, $"mean score of the students at risk {risky:F3}, of the others {fine:F3}");
        Assert.All(scores.Values, r => Assert.Equal(Guid.Parse(challenger.GetProperty("modelId").GetString()!), r.ModelId));
    }

    private static async Task<JsonElement> PostAsync(HttpClient client, string path, object body)
    {
        using var response = await client.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
