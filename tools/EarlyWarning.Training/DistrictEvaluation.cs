using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.RiskModels;
using Beacon.RiskModels.Attendance;
using Beacon.Simulator;

namespace Beacon.EarlyWarning.Training;

/// <summary>
/// `./beacon eval district`: learning from a district's own history, end to end. A multi-year district (tools/Simulator
/// MultiYear.cs, a data-generating process unlike the synthetic generators') is loaded through the gateway into Ingestion as
/// a backfill (each day's records with the time they were recorded); Early warning derives each year's outcomes from what
/// it holds (POST monitoring/outcomes/derive); per kind, the synthetic cold-start model is trained and made active, then a
/// model is trained from history through the API (source "district": years 1-2 train, year 3 is held out, features at the
/// scoring day as known then) and the promotion gate scores both on year 3. Printed per kind: the history model's, the
/// synthetic model's and the ABC rule's AUC on year 3 (from the platform's answer) and the oracle's (the simulator's
/// expected absence rate or true dropout probability, on the same students).
/// </summary>
public static class DistrictEvaluation
{
    public sealed record Options(Uri Gateway, int StudentsPerSchool = 200, int Schools = 2, int Seed = 19, int SchoolDay = 20, int? DaysPerYear = null);

    private sealed record TokenResponse(string AccessToken);

    private static readonly string[] Kinds = [AttendanceFeatures.Kind, "dropout"];

    public static async Task<int> RunAsync(Options o, TextWriter log, CancellationToken ct)
    {
        var district = MultiYearGenerator.Generate(new MultiYearOptions(o.Seed, 3, o.Schools, o.StudentsPerSchool, DaysPerYear: o.DaysPerYear));
        var years = district.Years;
        log.WriteLine($"district seed {o.Seed}: {string.Join("; ", years.Select(y => $"{y.Calendar.Label} {y.Students.Count} students, {y.Calendar.SchoolDays.Count} school days, "
            + $"{y.Truth.Count(t => t.ChronicallyAbsent)} chronically absent, {y.Truth.Count(t => t.DroppedOut)} dropped out"))}");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // Year 3 is loaded too: it is the held-out year, scored at its scoring day with only what was known then.
        if (await MultiYearFiles.UploadAsync(district, o.Gateway, null, log, ct) > 0)
        {
            log.WriteLine("error: some uploads were refused (see above)");
            return 1;
        }
        log.WriteLine($"[{clock.Elapsed:mm\\:ss}] uploaded; waiting for Early warning to project it");

        using var http = new HttpClient { BaseAddress = o.Gateway, Timeout = TimeSpan.FromMinutes(10) };
        using (var token = await http.PostAsJsonAsync("/auth/dev/token", new { user = "admin-1" }, ct))
        {
            token.EnsureSuccessStatusCode();
            http.DefaultRequestHeaders.Authorization = new("Bearer", (await token.Content.ReadFromJsonAsync<TokenResponse>(ct))!.AccessToken);
        }
        await WaitForProjectionsAsync(http, years[^1], log, ct);
        log.WriteLine($"[{clock.Elapsed:mm\\:ss}] projected; deriving each year's outcomes");
        foreach (var year in years)
        {
            var derived = await PostAsync(http, "/api/early-warning/v1/monitoring/outcomes/derive", new { schoolYear = year.Calendar.Label }, ct);
            var d = derived.GetProperty("years")[0];
            var expectedChronic = year.Truth.Count(t => t.DaysEnrolled >= 10);
            var expectedDropout = year.Truth.Count(t => t.Exit?.ExitCode != "transferred");
            log.WriteLine($"{year.Calendar.Label}: derived {d.GetProperty("chronicAbsence").GetInt32()} chronic-absence labels (simulator: {expectedChronic}), "
                + $"{d.GetProperty("dropout").GetInt32()} dropout labels (simulator: {expectedDropout})");
        }

        var rows = new List<(string Kind, double History, double Synthetic, double Rule, double Oracle, string Gate, string Source)>();
        foreach (var kind in Kinds)
        {
            log.WriteLine($"[{clock.Elapsed:mm\\:ss}] {kind}: training the synthetic cold start (made active), then from history");
            var synthetic = await PostAsync(http, "/api/early-warning/v1/models/train", new { kind, source = "synthetic", seed = o.Seed, promote = true }, ct);
            var history = await PostAsync(http, "/api/early-warning/v1/models/train", new { kind, source = "district", schoolDay = o.SchoolDay }, ct);
            var gate = JsonDocument.Parse(history.GetProperty("promotionGate").GetString()!).RootElement;
            var rule = history.GetProperty("metrics").EnumerateArray().Last().GetProperty("auc").GetDouble();
            var held = years[^1].Truth;
            var oracle = kind == AttendanceFeatures.Kind
                ? Evaluation.Auc([.. held.Where(t => t.DaysEnrolled >= 10).Select(t => t.ExpectedAbsenceRate)], [.. held.Where(t => t.DaysEnrolled >= 10).Select(t => t.ChronicallyAbsent)])
                : Evaluation.Auc([.. held.Where(t => t.Exit?.ExitCode != "transferred").Select(t => t.DropoutProbability)], [.. held.Where(t => t.Exit?.ExitCode != "transferred").Select(t => t.DroppedOut)]);
            rows.Add((kind, gate.GetProperty("Challenger").GetProperty("Auc").GetDouble(), gate.GetProperty("Champion").GetProperty("Auc").GetDouble(), rule, oracle,
                gate.GetProperty("Reason").GetString() ?? "", history.GetProperty("dataSource").GetString() ?? ""));
            log.WriteLine($"[{clock.Elapsed:mm\\:ss}] {kind}: synthetic v{synthetic.GetProperty("version").GetInt32()}, history v{history.GetProperty("version").GetInt32()} ({history.GetProperty("status").GetString()})");
        }

        Console.WriteLine($"district seed {o.Seed}, {o.Schools} schools x {o.StudentsPerSchool} students, held-out year {years[^1].Calendar.Label}, scoring at school day {o.SchoolDay}");
        Console.WriteLine();
        Console.WriteLine("| kind | history model | synthetic model | ABC rule | oracle | promotion gate |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var r in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {r.Kind} | {r.History:F3} | {r.Synthetic:F3} | {r.Rule:F3} | {r.Oracle:F3} | {r.Gate} |"));
        }
        Console.WriteLine();
        foreach (var r in rows)
        {
            Console.WriteLine($"{r.Kind}: {r.Source}");
        }
        foreach (var r in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"RESULT district kind={r.Kind} history_auc={r.History:F4} synthetic_auc={r.Synthetic:F4} abc_rule_auc={r.Rule:F4} oracle_auc={r.Oracle:F4}"));
        }
        log.WriteLine($"[{clock.Elapsed:mm\\:ss}] done");
        return 0;
    }

    private static async Task<JsonElement> PostAsync(HttpClient http, string path, object body, CancellationToken ct)
    {
        using var response = await http.PostAsJsonAsync(path, body, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST {path}: HTTP {(int)response.StatusCode} {text[..Math.Min(text.Length, 600)]}");
        }
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>
    /// Early warning consumes the uploads asynchronously: waits until its chronic-absence inputs at the last year's last day
    /// count every absence of that year and no other (the last year loaded is the last consumed), then until the dropout inputs (marks and
    /// incidents) stop changing, so the exits loaded after them have arrived too.
    /// </summary>
    private static async Task WaitForProjectionsAsync(HttpClient http, SimulatedYear last, TextWriter log, CancellationToken ct)
    {
        var absences = last.Attendance.Count(a => a.Status is "absent" or "excused-absent");
        var daysAbsent = AttendanceFeatures.Set.IndexOf("days_absent");
        var enrolled = last.Students.Select(s => s.StudentId).ToHashSet();
        var deadline = DateTimeOffset.UtcNow.AddMinutes(30);
        string? previous = null;
        while (true)
        {
            using var export = JsonDocument.Parse(await http.GetStringAsync($"/api/early-warning/v1/features?kind={AttendanceFeatures.Kind}&asOf={last.Calendar.LastDay:yyyy-MM-dd}", ct));
            // Only this year's students: one who left earlier is scored on their own last year.
            var counted = (int)export.RootElement.GetProperty("students").EnumerateArray().Where(s => enrolled.Contains(s.GetProperty("studentId").GetString()!))
                .Sum(s => s.GetProperty("values")[daysAbsent].GetDouble());
            var dropout = await http.GetStringAsync($"/api/early-warning/v1/features?kind=dropout&asOf={last.Calendar.LastDay:yyyy-MM-dd}", ct);
            log.WriteLine($"Early warning counts {counted} of {last.Attendance.Count(a => a.Status is "absent" or "excused-absent")} absences of {last.Calendar.Label}");
            // Equal, not at least: while a student's latest record is still last year's, last year's absences are counted.
            if (counted == absences && dropout == previous)
            {
                return;
            }
            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException($"Early warning did not finish projecting the uploads in 30 minutes ({counted} of {absences} absences).");
            }
            previous = counted == absences ? dropout : null;
            await Task.Delay(TimeSpan.FromSeconds(10), ct);
        }
    }
}
