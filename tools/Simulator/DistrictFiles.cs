using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Xml;
using CsvHelper;

namespace Beacon.Simulator;

/// <summary>Writes a district in the formats Ingestion accepts, and uploads such a folder through the gateway.</summary>
public static class DistrictFiles
{
    public static readonly string[] OneRosterFiles = ["orgs.csv", "users.csv", "classes.csv", "enrollments.csv", "demographics.csv"];
    public static readonly (string File, string Path)[] SignalFiles =
    [
        // First: Early warning places every later record in its school year by the calendar.
        ("calendars.csv", "/api/ingestion/v1/calendars"),
        ("attendance.csv", "/api/ingestion/v1/attendance"),
        ("item-responses.csv", "/api/ingestion/v1/item-responses"),
        ("grades.csv", "/api/ingestion/v1/grades"),
        ("behavior-incidents.csv", "/api/ingestion/v1/behavior-incidents"),
    ];

    /// <param name="modified">The OneRoster rows' dateLastModified (the day the roster was exported); a fixed day by default.
    /// Ingestion orders a record's changes by it, so a history's rosters and exits must carry their own days.</param>
    public static void Write(District district, string folder, DateOnly? modified = null)
    {
        Directory.CreateDirectory(folder);
        var stamp = $"{modified ?? new DateOnly(2026, 8, 1):yyyy-MM-dd}T00:00:00Z";
        Csv(folder, "orgs.csv", ["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"],
            district.Schools.Select(s => new[] { s.SchoolId, "active", stamp, s.Name, "school", s.SchoolId.ToUpperInvariant(), "" }));
        var contacts = FamilyContacts(district.Students);
        var contactsOf = contacts.ToLookup(c => c.StudentId);
        Csv(folder, "users.csv", ["sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username", "givenName", "familyName", "email", "grades", "agentSourcedIds", "phone"],
            district.Staff.Select(s => new[] { s.StaffId, "active", stamp, "true", s.SchoolId, s.Role, s.StaffId, s.GivenName, s.FamilyName, s.Email, "", "", "" })
                .Concat(district.Students.Select(s => new[] { s.StudentId, "active", stamp, "true", s.SchoolId, "student", s.StudentId, s.GivenName, s.FamilyName, "", s.Grade,
                    string.Join(',', contactsOf[s.StudentId].Select(c => c.ContactId)), "" }))
                .Concat(contacts.Select(c => new[] { c.ContactId, "active", stamp, "false", c.SchoolId, c.Role, "", c.GivenName, c.FamilyName, c.Email, "", c.StudentId, c.Phone })));
        Csv(folder, "classes.csv", ["sourcedId", "status", "dateLastModified", "title", "schoolSourcedId", "classType"],
            district.Sections.Select(c => new[] { c.SectionId, "active", stamp, c.Title, c.SchoolId, "scheduled" }));
        Csv(folder, "enrollments.csv", ["sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId", "role"],
            district.Sections.SelectMany(c => new[] { new[] { $"en-{c.SectionId}-{c.TeacherId}", "active", stamp, c.SectionId, c.SchoolId, c.TeacherId, "teacher" } }
                .Concat(district.Students.Where(s => s.SchoolId == c.SchoolId).Select(s => new[] { $"en-{c.SectionId}-{s.StudentId}", "active", stamp, c.SectionId, c.SchoolId, s.StudentId, "student" }))));
        Csv(folder, "demographics.csv", ["sourcedId", "status", "dateLastModified", "sex", "americanIndianOrAlaskaNative", "asian", "blackOrAfricanAmerican",
            "nativeHawaiianOrOtherPacificIslander", "white", "demographicRaceTwoOrMoreRaces", "hispanicOrLatinoEthnicity",
            "metadata.economicallyDisadvantaged", "metadata.englishLearner", "metadata.disability"],
            district.Students.Select(s => new[]
            {
                s.StudentId, "active", stamp, s.Sex, B(s.RaceEthnicity == "american-indian-or-alaska-native"), B(s.RaceEthnicity == "asian"),
                B(s.RaceEthnicity == "black-or-african-american"), "false", B(s.RaceEthnicity == "white"), B(s.RaceEthnicity == "two-or-more"),
                B(s.RaceEthnicity == "hispanic-or-latino"), B(s.EconomicallyDisadvantaged), B(s.EnglishLearner), B(s.Disability),
            }));
        if (district.Calendars.Count > 0)
        {
            Csv(folder, "calendars.csv", ["schoolYear", "schoolId", "type", "startDate", "endDate", "description"],
                district.Calendars.Select(y => new[] { y.Label, "", "school-year", D(y.FirstDay), D(y.LastDay), "" }));
        }
        Csv(folder, "attendance.csv", ["studentId", "date", "status"],
            district.Attendance.Select(a => new[] { a.StudentId, D(a.Date), a.Status }));
        Csv(folder, "item-responses.csv", ["studentId", "itemId", "skillIds", "correct", "attemptNumber", "hintsUsed", "timeOnTaskSeconds", "answeredAt"],
            district.Answers.Select(a => new[] { a.StudentId, a.ItemId, a.SkillId, B(a.Correct), I(a.Attempt), I(a.Hints), a.Seconds.ToString(CultureInfo.InvariantCulture), a.At.ToString("O") }));
        Csv(folder, "grades.csv", ["studentId", "courseId", "term", "markPercent", "date"],
            district.Grades.Select(g => new[] { g.StudentId, g.CourseId, g.Term, g.MarkPercent.ToString(CultureInfo.InvariantCulture), D(g.Date) }));
        Csv(folder, "behavior-incidents.csv", ["incidentId", "studentId", "date", "category", "severity"],
            district.Incidents.Select(i => new[] { i.IncidentId, i.StudentId, D(i.Date), i.Category, i.Severity }));
        File.WriteAllText(Path.Combine(folder, LmsFile), new JsonArray([.. district.Lms.Select(Statement)]).ToJsonString());
        File.WriteAllText(Path.Combine(folder, "truth.json"), JsonSerializer.Serialize(district.Truth, new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true }));
    }

    private static readonly string[] ContactGiven = ["Maria", "James", "Aisha", "David", "Linh", "Carlos", "Grace", "Tomas", "Fatima", "Peter"];

    private sealed record ContactRow(string ContactId, string StudentId, string SchoolId, string Role, string GivenName, string FamilyName, string Email, string Phone);

    /// <summary>
    /// Whom to call for each student, as a SIS names them in OneRoster (users with role parent, guardian or relative,
    /// linked by agentSourcedIds on both rows): a parent for each student (a guardian for every fifth), and for every
    /// fourth a relative with a phone only. Made from the student's place in the list, not from the random stream, so
    /// a seed's other files are unchanged. Phone numbers are in 555-0100..0199, reserved for fiction.
    /// </summary>
    private static List<ContactRow> FamilyContacts(IReadOnlyList<StudentInfo> students) =>
        students.SelectMany((s, i) =>
        {
            var given = ContactGiven[i % ContactGiven.Length];
            var first = new ContactRow($"ct-{s.StudentId}-1", s.StudentId, s.SchoolId, i % 5 == 4 ? "guardian" : "parent", given, s.FamilyName,
                $"{given.ToLowerInvariant()}.{s.FamilyName.ToLowerInvariant()}{i}@family.example.org", $"+1 312 555 01{i % 100:00}");
            return i % 4 == 3
                ? [first, new ContactRow($"ct-{s.StudentId}-2", s.StudentId, s.SchoolId, "relative", ContactGiven[(i + 3) % ContactGiven.Length], s.FamilyName, "", $"+1 312 555 01{(i + 50) % 100:00}")]
                : new[] { first };
        }).ToList();

    /// <summary>Rows per upload request (a part of a signal file).</summary>
    public const int RowsPerRequest = 20_000;

    /// <summary>The LMS sessions as xAPI 1.0.3 statements, posted to Ingestion's LRS as a learning platform would.</summary>
    public const string LmsFile = "lms-statements.json";
    private const int StatementsPerRequest = 2_000;
    private const string LmsHome = "https://lms.example.edu";

    private static JsonObject Statement(LmsSession s) => new()
    {
        ["id"] = s.StatementId.ToString(),
        ["actor"] = new JsonObject { ["objectType"] = "Agent", ["account"] = new JsonObject { ["homePage"] = LmsHome, ["name"] = s.StudentId } },
        ["verb"] = new JsonObject { ["id"] = $"http://adlnet.gov/expapi/verbs/{s.Verb}", ["display"] = new JsonObject { ["en-US"] = s.Verb } },
        ["object"] = new JsonObject { ["objectType"] = "Activity", ["id"] = s.ActivityId },
        ["result"] = new JsonObject { ["duration"] = XmlConvert.ToString(TimeSpan.FromMinutes(s.Minutes)) },
        ["timestamp"] = s.At.ToString("O"),
    };

    /// <summary>Uploads a folder written by <see cref="Write"/>: the OneRoster files first, then every signal file.</summary>
    public static async Task<int> UploadAsync(string folder, Uri gateway, TextWriter log, CancellationToken ct)
    {
        using var http = await GatewayClient.CreateAsync(gateway, TimeSpan.FromMinutes(10), ct);
        var failures = await PostOneRosterAsync(http, folder, "", log, ct);
        foreach (var (file, path) in SignalFiles.Where(f => File.Exists(Path.Combine(folder, f.File))))
        {
            // A district's file goes in parts of RowsPerRequest rows, each with the header: one request holding a
            // whole term of a large district outlasts the gateway's timeout (a 504 while Ingestion still works on it).
            var lines = await File.ReadAllLinesAsync(Path.Combine(folder, file), ct);
            var parts = lines.Skip(1).Chunk(RowsPerRequest).ToList();
            for (var i = 0; i < parts.Count; i++)
            {
                using var content = new StringContent(string.Join('\n', parts[i].Prepend(lines[0])) + "\n");
                content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
                using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
                request.Headers.Add("X-Beacon-Source", "simulator");
                using var response = await http.SendAsync(request, ct);
                failures += await ReportAsync(parts.Count == 1 ? file : $"{file} {i + 1}/{parts.Count}", response, log, ct);
            }
        }
        if (File.Exists(Path.Combine(folder, LmsFile)))
        {
            failures += await UploadStatementsAsync(http, Path.Combine(folder, LmsFile), log, ct);
        }
        return failures;
    }

    /// <summary>Posts the OneRoster files of a folder as one bundle (query: e.g. "?recordedAt=..." for a backfill); 1 if refused.</summary>
    public static async Task<int> PostOneRosterAsync(HttpClient http, string folder, string query, TextWriter log, CancellationToken ct)
    {
        using var form = new MultipartFormDataContent();
        foreach (var file in OneRosterFiles.Where(f => File.Exists(Path.Combine(folder, f))))
        {
            var content = new ByteArrayContent(await File.ReadAllBytesAsync(Path.Combine(folder, file), ct));
            content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
            form.Add(content, "files", file);
        }
        using var roster = await http.PostAsync("/api/ingestion/v1/oneroster" + query, form, ct);
        return await ReportAsync("oneroster", roster, log, ct);
    }

    private static async Task<int> UploadStatementsAsync(HttpClient http, string file, TextWriter log, CancellationToken ct)
    {
        var statements = JsonNode.Parse(await File.ReadAllTextAsync(file, ct))!.AsArray().Select(n => n!.DeepClone()).ToList();
        var parts = statements.Chunk(StatementsPerRequest).ToList();
        var failures = 0;
        for (var i = 0; i < parts.Count; i++)
        {
            using var content = new StringContent(new JsonArray([.. parts[i]]).ToJsonString(), System.Text.Encoding.UTF8, "application/json");
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/ingestion/v1/xapi/statements") { Content = content };
            request.Headers.Add("X-Experience-API-Version", "1.0.3");
            request.Headers.Add("X-Beacon-Source", "simulator");
            using var response = await http.SendAsync(request, ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            // The LRS answers with the stored statements' ids (xAPI 1.0.3, Communication 2.1.2), or a problem.
            var stored = response.IsSuccessStatusCode ? JsonNode.Parse(body)!.AsArray().Count : 0;
            log.WriteLine($"{(parts.Count == 1 ? LmsFile : $"{LmsFile} {i + 1}/{parts.Count}"),-24} HTTP {(int)response.StatusCode}  statements {parts[i].Length,7}  stored {stored,7}"
                + (response.IsSuccessStatusCode ? "" : $"  {body[..Math.Min(body.Length, 300)]}"));
            failures += response.IsSuccessStatusCode ? 0 : 1;
        }
        return failures;
    }

    private static async Task<int> ReportAsync(string what, HttpResponseMessage response, TextWriter log, CancellationToken ct)
    {
        var body = await response.Content.ReadAsStringAsync(ct);
        using var json = JsonDocument.Parse(body.Length == 0 ? "{}" : body);
        int Count(string name) => json.RootElement.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : 0;
        log.WriteLine($"{what,-24} HTTP {(int)response.StatusCode}  received {Count("received"),7}  accepted {Count("accepted"),7}  unchanged {Count("unchanged"),7}  rejected {Count("rejected"),5}");
        return response.IsSuccessStatusCode ? 0 : 1;
    }

    internal static void Csv(string folder, string file, string[] header, IEnumerable<string[]> rows)
    {
        using var writer = new StreamWriter(Path.Combine(folder, file));
        using var csv = new CsvWriter(writer, CultureInfo.InvariantCulture);
        foreach (var h in header)
        {
            csv.WriteField(h);
        }
        csv.NextRecord();
        foreach (var row in rows)
        {
            foreach (var field in row)
            {
                csv.WriteField(field);
            }
            csv.NextRecord();
        }
    }

    private static string B(bool value) => value ? "true" : "false";
    private static string D(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
    private static string I(int value) => value.ToString(CultureInfo.InvariantCulture);
}
