using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;

namespace Beacon.RiskModels.Dropout;

/// <summary>
/// Dropout (withdrawal) on the Open University Learning Analytics Dataset, to the issue's fixed protocol:
/// students still registered on course day <see cref="CutoffDay"/>, features from data dated on or
/// before that day only (registration, assessment submissions and scores, prior attempts, credits; no
/// demographics), label <c>final_result == Withdrawn</c>; train on every presentation but 2014J, test on 2014J.
/// The clickstream (studentVle.csv) is not in the shared copy, so there are no engagement features.
/// </summary>
public static class OuladDropout
{
    public const string Kind = "oulad-dropout";
    public const int CutoffDay = 60;
    public const string TestPresentation = "2014J";

    /// <summary>The course itself (withdrawal rates differ by module); not a demographic.</summary>
    private static readonly string[] Modules = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG"];

    public static readonly FeatureSet Set = new(Kind,
    [
        new("previous_attempts", (f, s) => $"{N(f, s, "previous_attempts")} previous attempt(s) at this module"),
        new("studied_credits", (f, s) => $"studying {N(f, s, "studied_credits")} credits"),
        new("registration_day", (f, s) => N(f, s, "registration_day") is var d && d < 0 ? $"registered {-d} days before the start" : $"registered {d} days after the start"),
        new("assessments_due", (f, s) => $"{N(f, s, "assessments_due")} assessment(s) due so far"),
        new("assessments_submitted", (f, s) => $"handed in {N(f, s, "assessments_submitted")} assessment(s) so far"),
        new("assessments_missed", (f, s) => $"missed {N(f, s, "assessments_missed")} of {N(f, s, "assessments_due")} assessment(s) due so far"),
        new("late_submissions", (f, s) => $"handed in {N(f, s, "late_submissions")} assessment(s) late"),
        new("mean_score", (f, s) => N(f, s, "assessments_submitted") == 0 ? "no marked assessment yet" : $"average mark {f[s.IndexOf("mean_score")]:F0} %"),
        new("lowest_score", (f, s) => N(f, s, "assessments_submitted") == 0 ? "no marked assessment yet" : $"lowest mark {f[s.IndexOf("lowest_score")]:F0} %"),
        new("failed_assessments", (f, s) => $"failed {N(f, s, "failed_assessments")} assessment(s) (mark below 40 %)"),
        new("weighted_marks", (f, s) => $"{f[s.IndexOf("weighted_marks")]:F0} weighted mark points earned so far"),
        new("days_since_last_submission", (f, s) => $"last hand-in {N(f, s, "days_since_last_submission")} days ago"),
        new("mean_days_early", (f, s) => f[s.IndexOf("mean_days_early")] is var d && d >= 0 ? $"hands in {d:F0} days before the deadline on average" : $"hands in {-d:F0} days after the deadline on average"),
        new("banked_assessments", (f, s) => $"{N(f, s, "banked_assessments")} mark(s) carried over from an earlier attempt"),
        new("first_assessment_mark", (f, s) => $"first assessment mark {f[s.IndexOf("first_assessment_mark")]:F0} % (0 if not handed in)"),
        new("submitted_days_0_30", (f, s) => $"{N(f, s, "submitted_days_0_30")} hand-in(s) in the first 30 days"),
        new("submitted_days_31_60", (f, s) => $"{N(f, s, "submitted_days_31_60")} hand-in(s) in days 31–60"),
        .. Modules.Select(m => new FeatureDefinition($"module_{m}", (f, s) => f[s.IndexOf($"module_{m}")] > 0 ? $"studying module {m}" : $"not studying module {m}")),
    ]);

    private static int N(IReadOnlyList<float> f, FeatureSet s, string name) => (int)Math.Round(f[s.IndexOf(name)]);

    /// <summary>A transparent "course performance" rule (ABC's C): missed work, a failing mark, or nothing handed in.</summary>
    public static readonly RuleBaseline Baseline = new(
        "course-performance rule: one point each for a missed assessment, a failed assessment (< 40 %), an average below 40 %, nothing handed in; flag at 1+ point",
        Points,
        f => Points(f) >= 1);

    private static double Points(float[] f) =>
        (f[Set.IndexOf("assessments_missed")] > 0 ? 1 : 0)
        + (f[Set.IndexOf("failed_assessments")] > 0 ? 1 : 0)
        + (f[Set.IndexOf("assessments_submitted")] > 0 && f[Set.IndexOf("mean_score")] < 40 ? 1 : 0)
        + (f[Set.IndexOf("assessments_submitted")] == 0 ? 1 : 0);

    public static RiskDataset Load(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"OULAD folder '{folder}' does not exist.");
        }
        var assessments = Read(folder, "assessments.csv").Select(r => new Assessment(
                Key(r["code_module"], r["code_presentation"]), int.Parse(r["id_assessment"]!, CultureInfo.InvariantCulture),
                r["assessment_type"]!, Int(r["date"]), Double(r["weight"]) ?? 0))
            .ToDictionary(a => a.Id);
        var registrations = Read(folder, "studentRegistration.csv").ToDictionary(
            r => Key(r["code_module"], r["code_presentation"], r["id_student"]),
            r => (Registered: Int(r["date_registration"]), Unregistered: Int(r["date_unregistration"])));
        var submissions = Read(folder, "studentAssessment.csv")
            .Select(r => (Student: r["id_student"]!, Assessment: int.Parse(r["id_assessment"]!, CultureInfo.InvariantCulture),
                Submitted: Int(r["date_submitted"]), Banked: r["is_banked"] == "1", Score: Double(r["score"])))
            .Where(s => assessments.ContainsKey(s.Assessment))
            .ToLookup(s => assessments[s.Assessment].Course + "|" + s.Student);
        var courseAssessments = assessments.Values
            .Where(a => a.Type != "Exam" && a.Date is <= CutoffDay)
            .ToLookup(a => a.Course);

        var train = new List<LabelledExample>();
        var test = new List<LabelledExample>();
        foreach (var info in Read(folder, "studentInfo.csv"))
        {
            var course = Key(info["code_module"], info["code_presentation"]);
            var id = course + "|" + info["id_student"];
            var (registered, unregistered) = registrations.GetValueOrDefault(id);
            if (unregistered is <= CutoffDay || registered is > CutoffDay)
            {
                continue;   // not registered on the prediction day: nothing to predict
            }
            var features = Features(info, registered ?? 0, courseAssessments[course].ToArray(), submissions[id].ToArray(), assessments);
            var example = new LabelledExample(id, features, info["final_result"] == "Withdrawn");
            (info["code_presentation"] == TestPresentation ? test : train).Add(example);
        }
        return new RiskDataset(Set, train, test, Baseline,
            $"OULAD ({folder}), students registered on day {CutoffDay}, data to day {CutoffDay}",
            $"time-based: train on every presentation except {TestPresentation}, test on {TestPresentation}");
    }

    private static float[] Features(IReadOnlyDictionary<string, string?> info, int registered, Assessment[] due,
        (string Student, int Assessment, int? Submitted, bool Banked, double? Score)[] submitted, Dictionary<int, Assessment> assessments)
    {
        // Only hand-ins dated on or before the cut-off exist for the model.
        var known = submitted.Where(s => s.Submitted is <= CutoffDay).ToArray();
        var marked = known.Where(s => s.Score is not null).ToArray();
        var handedIn = known.Select(s => s.Assessment).ToHashSet();
        var late = known.Count(s => assessments[s.Assessment].Date is { } d && s.Submitted > d);
        var early = known.Where(s => assessments[s.Assessment].Date is not null).Select(s => (double)(assessments[s.Assessment].Date!.Value - s.Submitted!.Value)).ToArray();
        var first = due.OrderBy(a => a.Date).FirstOrDefault();
        var firstMark = first is null ? 0 : marked.Where(s => s.Assessment == first.Id).Select(s => s.Score!.Value).DefaultIfEmpty(0).First();
        var lastHandIn = known.Length == 0 ? (int?)null : known.Max(s => s.Submitted!.Value);
        return
        [
            Int(info["num_of_prev_attempts"]) ?? 0,
            Int(info["studied_credits"]) ?? 0,
            registered,
            due.Length,
            known.Length,
            due.Count(a => !handedIn.Contains(a.Id)),
            late,
            marked.Length == 0 ? 0f : (float)marked.Average(s => s.Score!.Value),
            marked.Length == 0 ? 0f : (float)marked.Min(s => s.Score!.Value),
            marked.Count(s => s.Score < 40),
            (float)marked.Sum(s => s.Score!.Value * assessments[s.Assessment].Weight / 100.0),
            CutoffDay - (lastHandIn ?? Math.Min(registered, 0)),
            early.Length == 0 ? 0f : (float)early.Average(),
            known.Count(s => s.Banked),
            (float)firstMark,
            known.Count(s => s.Submitted <= 30),
            known.Count(s => s.Submitted > 30),
            .. Modules.Select(m => info["code_module"] == m ? 1f : 0f),
        ];
    }

    private sealed record Assessment(string Course, int Id, string Type, int? Date, double Weight);

    private static string Key(params string?[] parts) => string.Join("|", parts);

    private static int? Int(string? value) => int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;

    private static double? Double(string? value) => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;

    /// <summary>Rows as header → value; '?' (OULAD's missing value) becomes null.</summary>
    private static IEnumerable<IReadOnlyDictionary<string, string?>> Read(string folder, string file)
    {
        var path = Path.Combine(folder, file);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"OULAD file '{file}' is missing from '{folder}'.", path);
        }
        using var reader = new StreamReader(path);
        using var csv = new CsvReader(reader, new CsvConfiguration(CultureInfo.InvariantCulture));
        csv.Read();
        csv.ReadHeader();
        var header = csv.HeaderRecord!;
        while (csv.Read())
        {
            var row = new Dictionary<string, string?>(header.Length);
            for (var i = 0; i < header.Length; i++)
            {
                var value = csv.GetField(i);
                row[header[i]] = value is "?" or "" ? null : value;
            }
            yield return row;
        }
    }
}
