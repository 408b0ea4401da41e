using System.Globalization;
using System.Net.Http.Json;
using Beacon.RiskModels;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Calendars;
using Beacon.RiskModels.Dropout;
using Beacon.RiskModels.History;
using Beacon.Simulator;

namespace Beacon.EarlyWarning.Training;

/// <summary>
/// `./beacon eval dropout`: the K-12 dropout model trained and judged on districts that went through the real
/// platform. Two districts are generated from different seeds (a training district and a separately generated
/// held-out one, other schools and students); each one's files, cut at a mid-year scoring date, are uploaded
/// through the gateway into Ingestion; Early warning's own projections then give every student's features as of
/// that date (GET /api/early-warning/v1/features, the code that scores live), labelled with the year's outcome
/// from the simulator's ground truth. The model is fitted on the first district and measured on the second,
/// against the simulator's true probabilities (the oracle) and the transparent ABC rules.
/// </summary>
public static class DropoutEvaluation
{
    /// <param name="Gateway">The platform to push the districts through; null computes the same features in memory
    /// from the generated signals (the K12DropoutFeatures code Early warning runs), to iterate quickly.</param>
    /// <param name="PriorYearDays">School days of a previous year the districts carry (0: none); with them the model also reads
    /// last year's attendance, incidents and marks (<see cref="K12PriorYear"/>) and the rules include last year's.</param>
    /// <param name="ScoringDay">The scoring date's school day. The simulated year is <paramref name="SchoolDays"/> (90) school days and
    /// its outcome is the year's, so day 45 is the middle of the year, the issue's "mid-year scoring date"; day 90 is its last day,
    /// when a warning comes too late to act on (`--school-day` measures other days).</param>
    public sealed record Options(Uri? Gateway, int StudentsPerSchool = 750, int Schools = 4, int SchoolDays = 90, int ScoringDay = 45, int Seed = 101,
        int PriorYearDays = 0);

    /// <summary>Simulated students the observable ceiling is learnt from (in memory, about half a minute).</summary>
    private const int CeilingStudents = 20_000;

    private sealed record TokenResponse(string AccessToken);

    private sealed record Export(string Kind, DateOnly AsOf, string[] Features, ExportRow[] Students);

    private sealed record ExportRow(string StudentId, string SchoolId, float[] Values);

    public static async Task<int> RunAsync(Options o, TextWriter log, CancellationToken ct)
    {
        var lastDay = new DateOnly(2026, 6, 12);
        var train = Generate(o, o.Seed, "tra", 0, lastDay);
        var test = Generate(o, o.Seed + 1, "tst", o.Schools, lastDay);
        var cut = DistrictGenerator.SchoolDaysEndingOn(lastDay, o.SchoolDays)[o.ScoringDay - 1];
        log.WriteLine($"two districts of {o.Schools * o.StudentsPerSchool} students, {o.SchoolDays} school days to {lastDay:yyyy-MM-dd}; scoring date {cut:yyyy-MM-dd} (school day {o.ScoringDay}); uploading what is dated on or before it");

        var expected = train.Students.Count + test.Students.Count;
        var calendar = DistrictGenerator.SchoolDaysEndingOn(lastDay, o.SchoolDays);
        var previous = PreviousYear(lastDay, o.PriorYearDays);
        // The training district's students are also cut earlier in the year (TrainingCuts: more rows from the same students,
        // nothing dated after the scoring date); the held-out district only at the scoring date.
        var cuts = TrainingCuts.For(o.ScoringDay);
        var byDay = o.Gateway is null
            ? cuts.ToDictionary(day => day, day => (day == o.ScoringDay ? Offline(train, calendar[0], previous, cut).Concat(Offline(test, calendar[0], previous, cut))
                : Offline(train, calendar[0], previous, calendar[day - 1])).ToDictionary(s => s.StudentId))
            : await ThroughPlatformAsync(o.Gateway, [("train", train), ("held-out", test)], cuts, calendar, expected, previous is not null, log, ct);
        if (byDay is null)
        {
            return 1;
        }
        var byId = byDay[o.ScoringDay];
        var data = new RiskDataset(previous is null ? K12DropoutFeatures.Set : K12PriorYear.Set,
            [.. cuts.SelectMany(day => train.Truth.Outcomes.Select(t => new LabelledExample(t.StudentId, byDay[day][t.StudentId].Values, t.DroppedOut, day)))],
            [.. test.Truth.Outcomes.Select(t => new LabelledExample(t.StudentId, byId[t.StudentId].Values, t.DroppedOut, o.ScoringDay))],
            K12DropoutFeatures.Indicators[0],
            $"simulated districts {(o.Gateway is null ? "computed in memory (no platform)" : "through the real ingestion path")} (seeds {o.Seed}, {o.Seed + 1}; {DistrictGenerator.DropoutModel}); features from Early warning's projections as of {cut:yyyy-MM-dd}",
            $"train: district seed {o.Seed} ({train.Students.Count} students{(previous is null ? "" : $", each with a previous year of {o.PriorYearDays} school days")}, each cut at school days {string.Join(", ", cuts)}); "
            + $"held out: district seed {o.Seed + 1} ({test.Students.Count} other students, other schools) at school day {o.ScoringDay}");
        var result = new RiskModelTrainer(new Progress<string>(m => log.WriteLine(m))).Train(data, new TrainingOptions { ScoredAt = o.ScoringDay });
        Console.WriteLine(ReportFormatter.Markdown(result));

        var labels = data.Test.Select(e => e.Label).ToArray();
        var truth = test.Truth.Outcomes.ToDictionary(t => t.StudentId, t => t.DropoutProbability);
        var oracle = Evaluation.Auc(data.Test.Select(e => truth[e.Id]).ToArray(), labels);
        // The best any model of these inputs can rank (E[p | inputs], learnt where p is known): the gap from it to the oracle
        // is what the signals have not shown by the scoring day, which no model can close (DropoutCeiling).
        var ceiling = Evaluation.Auc(DropoutCeiling.BestOfInputs([.. data.Test.Select(e => e.Features)], o.ScoringDay, CeilingStudents, o.Seed + 3000, o.PriorYearDays), labels);
        var rules = Rules(previous is not null).Select(r => (r.Description, Auc: Evaluation.Auc(data.Test.Select(e => r.Score(e.Features)).ToArray(), labels))).ToList();
        Console.WriteLine("| transparent rule (held-out district) | AUC |");
        Console.WriteLine("|---|---|");
        foreach (var (description, auc) in rules)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {description} | {auc:F3} |"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| observable ceiling: E[p given these inputs], learnt on {CeilingStudents} other simulated students | {ceiling:F3} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| oracle: the simulator's true probability | {oracle:F3} |"));
        Console.WriteLine();
        var served = result.Served.Report;
        var best = rules.Max(r => r.Auc);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"model {served.Auc:F3} vs best ABC rule {best:F3} ({(served.Auc > best ? "beats it" : "does NOT beat it")}); {oracle - served.Auc:F3} below the oracle (goal: within 0.03), of which {oracle - ceiling:F3} no model of these inputs can close; ECE {served.ExpectedCalibrationError:F3} (goal: < 0.05)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT dropout model_auc={served.Auc:F4} oracle_auc={oracle:F4} abc_rule_auc={best:F4} precision_top10={served.PrecisionAtTop10:F4} ece={served.ExpectedCalibrationError:F4} observable_auc={ceiling:F4} train_students={data.Train.Select(e => e.Id).Distinct().Count()} train_rows={data.Train.Count} test_students={data.Test.Count} prior_year_days={o.PriorYearDays}"));
        return 0;
    }

    /// <summary>
    /// Uploads the districts cut at the last of <paramref name="cutDays"/> (the scoring day) and reads every student's features as
    /// of each of those school days, by school day.
    /// </summary>
    private static async Task<Dictionary<int, Dictionary<string, ExportRow>>?> ThroughPlatformAsync(Uri gateway, (string Name, District District)[] districts,
        IReadOnlyList<int> cutDays, IReadOnlyList<DateOnly> calendar, int expected, bool priorYear, TextWriter log, CancellationToken ct)
    {
        var (days, cut) = (cutDays[^1], calendar[cutDays[^1] - 1]);
        var folder = Directory.CreateTempSubdirectory("beacon-eval-dropout-");
        try
        {
            foreach (var (name, district) in districts)
            {
                var dir = Path.Combine(folder.FullName, name);
                DistrictFiles.Write(CutAt(district, cut), dir);
                log.WriteLine($"uploading the {name} district through {gateway}");
                if (await DistrictFiles.UploadAsync(dir, gateway, log, ct) > 0)
                {
                    log.WriteLine("error: an upload was refused (see above)");
                    return null;
                }
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
        using var http = await SignedInAsync(gateway, ct);
        var export = await WaitForProjectionsAsync(http, cut, expected, days, priorYear, log, ct);
        var byDay = new Dictionary<int, Dictionary<string, ExportRow>> { [days] = export.Students.ToDictionary(s => s.StudentId) };
        // The earlier cuts from the same projections: the export counts only what is dated on or before its date.
        foreach (var day in cutDays.SkipLast(1))
        {
            byDay[day] = (await ExportAsync(http, calendar[day - 1], priorYear, ct)).Students.ToDictionary(s => s.StudentId);
        }
        return byDay;
    }

    private static async Task<HttpClient> SignedInAsync(Uri gateway, CancellationToken ct)
    {
        var http = new HttpClient { BaseAddress = gateway, Timeout = TimeSpan.FromMinutes(5) };
        using var token = await http.PostAsJsonAsync("/auth/dev/token", new { user = "admin-1" }, ct);
        token.EnsureSuccessStatusCode();
        http.DefaultRequestHeaders.Authorization = new("Bearer", (await token.Content.ReadFromJsonAsync<TokenResponse>(ct))!.AccessToken);
        return http;
    }

    private static async Task<Export> ExportAsync(HttpClient http, DateOnly asOf, bool priorYear, CancellationToken ct) =>
        await http.GetFromJsonAsync<Export>($"/api/early-warning/v1/features?kind=dropout&asOf={asOf:yyyy-MM-dd}{(priorYear ? "&priorYear=true" : "")}", ct)
            ?? throw new InvalidDataException("empty feature export");

    /// <summary>The features Early warning would compute, from the generated signals (no mastery: that needs Mastery's BKT).</summary>
    private static IEnumerable<ExportRow> Offline(District d, DateOnly first, SchoolYearCalendar? previous, DateOnly cut) =>
        Signals(d).Select(s => new ExportRow(s.Student.StudentId, s.Student.SchoolId, Inputs(s.Signals, first, previous, cut)));

    /// <summary>
    /// The served inputs as of <paramref name="cut"/>: this year's signals (from its <paramref name="first"/> day) and, when there
    /// is a <paramref name="previous"/> year, last year's appended as Early warning reads them from the same records.
    /// </summary>
    internal static float[] Inputs(StudentSignals all, DateOnly first, SchoolYearCalendar? previous, DateOnly cut)
    {
        var features = K12DropoutFeatures.Compute(all.Since(first), cut);
        return previous is null ? features : K12PriorYear.Append(features, PriorYearRecord.Of(all, previous, feedSendsPresentDays: true));
    }

    /// <summary>The simulator's previous school year as a calendar (weekdays, no breaks); null when it generates none.</summary>
    internal static SchoolYearCalendar? PreviousYear(DateOnly lastDay, int days)
    {
        if (days == 0)
        {
            return null;
        }
        var year = DistrictGenerator.PriorSchoolDays(lastDay, days);
        return new SchoolYearCalendar("previous", year[0], year[^1], new HashSet<DateOnly>());
    }

    /// <summary>The transparent rules: this year's ABCs, and with a previous year the EWIMS-style rules that read it too.</summary>
    internal static IEnumerable<RuleBaseline> Rules(bool priorYear) => priorYear ? [.. K12DropoutFeatures.Indicators, .. K12PriorYear.Indicators] : K12DropoutFeatures.Indicators;

    /// <summary>Each student's generated signals as Early warning's projections would hold them (no mastery).</summary>
    internal static IEnumerable<(StudentInfo Student, StudentSignals Signals)> Signals(District d)
    {
        var days = d.Attendance.ToLookup(a => a.StudentId);
        var grades = d.Grades.ToLookup(g => g.StudentId);
        var incidents = d.Incidents.ToLookup(i => i.StudentId);
        var lms = d.Lms.ToLookup(l => l.StudentId);
        return d.Students.Select(s => (s, new StudentSignals(
            [.. days[s.StudentId].Select(a => new SchoolDay(a.Date, a.Status))],
            [.. grades[s.StudentId].Select(g => new MarkSignal(g.CourseId, g.Term, g.MarkPercent, g.Date))],
            [.. incidents[s.StudentId].Select(i => new IncidentSignal(i.Date, i.Category, i.Severity))],
            [], [.. lms[s.StudentId].Select(l => new LmsSignal(DateOnly.FromDateTime(l.At.UtcDateTime), l.Minutes * 60))])));
    }

    private static District Generate(Options o, int seed, string prefix, int firstSchool, DateOnly lastDay) =>
        DistrictGenerator.Generate(new SimulationOptions(seed, o.Schools, o.StudentsPerSchool, o.SchoolDays, lastDay, ItemsPerDay: 1,
            StudentPrefix: prefix, FirstSchool: firstSchool, PriorYearDays: o.PriorYearDays));

    /// <summary>The district as its systems would have sent it by the scoring date.</summary>
    private static District CutAt(District d, DateOnly cut) => d with
    {
        Attendance = [.. d.Attendance.Where(a => a.Date <= cut)],
        Answers = [.. d.Answers.Where(a => DateOnly.FromDateTime(a.At.UtcDateTime) <= cut)],
        Grades = [.. d.Grades.Where(g => g.Date <= cut)],
        Incidents = [.. d.Incidents.Where(i => i.Date <= cut)],
        Lms = [.. d.Lms.Where(l => DateOnly.FromDateTime(l.At.UtcDateTime) <= cut)],
    };

    /// <summary>
    /// Early warning consumes the uploads asynchronously: waits until every student has every school day to the
    /// cut, and the export stops changing (marks, incidents and mastery still arriving).
    /// </summary>
    private static async Task<Export> WaitForProjectionsAsync(HttpClient http, DateOnly cut, int students, int days, bool priorYear, TextWriter log, CancellationToken ct)
    {
        var daysIndex = Array.IndexOf(K12DropoutFeatures.Set.Names.ToArray(), "days_recorded");
        string? previous = null;
        var deadline = DateTimeOffset.UtcNow.AddMinutes(30);
        while (true)
        {
            var export = await ExportAsync(http, cut, priorYear, ct);
            var complete = export.Students.Count(s => s.Values[daysIndex] >= days);
            var fingerprint = string.Join(';', export.Students.Select(s => string.Join(',', s.Values)));
            log.WriteLine($"Early warning has {export.Students.Length} of {students} students, {complete} with all {days} school days");
            if (complete >= students && fingerprint == previous)
            {
                return export;
            }
            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException($"Early warning did not finish projecting the uploads in 30 minutes ({complete} of {students} complete).");
            }
            previous = complete >= students ? fingerprint : null;
            await Task.Delay(TimeSpan.FromSeconds(10), ct);
        }
    }
}
