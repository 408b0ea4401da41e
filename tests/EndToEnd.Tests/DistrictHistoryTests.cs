using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Beacon.Simulator;
using Beacon.Testing;
using Xunit.Abstractions;

namespace Beacon.EndToEnd.Tests;

/// <summary>
/// Learning from history through the real path (issue #19): a small three-year simulated district (cohorts, calendars with
/// breaks, exits with reasons) is backfilled through the gateway into Ingestion (each day's records with ?recordedAt=), Early
/// warning derives every year's outcomes from what it consumed, and a model trained from history through the API names the
/// years it trained on and the year it held out. The simulator's own truth says how many labels each year must give.
/// </summary>
[Collection(OnePlatformAtATime.Name)]
public sealed class DistrictHistoryTests(ITestOutputHelper output) : IAsyncLifetime
{
    private BeaconUp _platform = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        // The hourly year-end job would derive a year half-way through the load; here outcomes are derived on demand.
        _platform = await BeaconUp.StartAsync(TimeSpan.FromSeconds(180), demo: false, "history",
            environment: new Dictionary<string, string> { ["EarlyWarning__Monitoring__Enabled"] = "false", ["EarlyWarning__Models__Trees"] = "40" });
        output.WriteLine($"Platform ready through the gateway in {_platform.StartupTime.TotalSeconds:F1} s");
        _http = new HttpClient { BaseAddress = _platform.Gateway, Timeout = TimeSpan.FromMinutes(3) };
        try
        {
            _http.WithToken(await TestTokens.FromDevIssuerAsync(_http, "admin-1"));
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _platform.DisposeAsync();
    }

    private async Task<JsonElement> PostAsync(string path, object body)
    {
        using var response = await _http.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path} -> {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    [Fact]
    public async Task A_backfilled_three_year_district_gives_each_years_labels_and_a_model_trained_on_its_first_two_years()
    {
        try
        {
            await RunAsync();
        }
        catch
        {
            output.WriteLine(_platform.Output);
            output.WriteLine(_platform.Logs());
            throw;
        }
    }

    private async Task RunAsync()
    {
        var district = MultiYearGenerator.Generate(new MultiYearOptions(Seed: 23, Years: 3, Schools: 2, StudentsPerSchool: 60, DaysPerYear: 30));
        var log = new StringWriter();
        Assert.True(await MultiYearFiles.UploadAsync(district, _platform.Gateway, null, log, CancellationToken.None) == 0, log.ToString());
        output.WriteLine(log.ToString());

        // Early warning consumes the backfill asynchronously: wait until the last year's absences are all counted.
        var last = district.Years[^1];
        var absences = last.Attendance.Count(a => a.Status is "absent" or "excused-absent");
        var enrolled = last.Students.Select(s => s.StudentId).ToHashSet();
        await Eventually.WaitAsync(async () =>
        {
            var export = await _http.GetFromJsonAsync<JsonElement>($"/api/early-warning/v1/features?kind=chronic-absence&asOf={last.Calendar.LastDay:yyyy-MM-dd}");
            var index = export.GetProperty("features").EnumerateArray().Select(f => f.GetString()).ToList().IndexOf("days_absent");
            // Only the last year's students: one who left earlier is scored on their own last year.
            return (int)export.GetProperty("students").EnumerateArray().Where(s => enrolled.Contains(s.GetProperty("studentId").GetString()!))
                .Sum(s => s.GetProperty("values")[index].GetDouble());
        }, n => n == absences, TimeSpan.FromSeconds(120));

        foreach (var year in district.Years)
        {
            var derived = (await PostAsync("/api/early-warning/v1/monitoring/outcomes/derive", new { schoolYear = year.Calendar.Label })).GetProperty("years")[0];
            // Every student with ten school days or more gets a chronic-absence label; every student but a transfer a dropout label
            // (graduates and dropouts from their exits, the rest finished the year).
            Assert.Equal(year.Truth.Count(t => t.DaysEnrolled >= 10), derived.GetProperty("chronicAbsence").GetInt32());
            Assert.Equal(year.Truth.Count(t => t.Exit?.ExitCode != "transferred"), derived.GetProperty("dropout").GetInt32());
        }
        // Deriving again adds nothing: each label is written once.
        Assert.Equal(0, (await PostAsync("/api/early-warning/v1/monitoring/outcomes/derive", new { schoolYear = district.Years[0].Calendar.Label }))
            .GetProperty("years")[0].GetProperty("added").GetInt32());

        var trained = await PostAsync("/api/early-warning/v1/models/train", new { kind = "chronic-absence", source = "district", schoolDay = 10 });
        var source = trained.GetProperty("dataSource").GetString()!;
        output.WriteLine(source);
        Assert.Contains("district history at school day 10", source);
        Assert.Contains("trained on 2022-2023, 2023-2024", source);
        Assert.Contains("held out 2024-2025", source);
        var gate = JsonDocument.Parse(trained.GetProperty("promotionGate").GetString()!).RootElement;
        Assert.Equal("2024-2025", gate.GetProperty("HeldOutYear").GetString());
        // The held-out year's examples are the students labelled in it: what the simulator says were chronically absent.
        var heldOut = last.Truth.Where(t => t.DaysEnrolled >= 10).ToList();
        Assert.Equal(heldOut.Count, gate.GetProperty("Challenger").GetProperty("Examples").GetInt32());
        Assert.Equal(heldOut.Count(t => t.ChronicallyAbsent), gate.GetProperty("Challenger").GetProperty("Positives").GetInt32());

        // A district threshold for the history model is chosen on its own calibration slice (some of the training years'
        // students), not on a synthetic one of thousands.
        var threshold = await PostAsync($"/api/early-warning/v1/models/{trained.GetProperty("modelId").GetString()}/thresholds", new { flagTopShare = 0.2 });
        var rule = threshold.GetProperty("rule").GetString()!;
        var slice = Regex.Match(rule, @"calibration slice of the training data, (\d+) students");
        Assert.True(slice.Success, rule);
        Assert.InRange(int.Parse(slice.Groups[1].Value, CultureInfo.InvariantCulture), 10, district.Years.Take(2).Sum(y => y.Truth.Count(t => t.DaysEnrolled >= 10)));
    }
}
