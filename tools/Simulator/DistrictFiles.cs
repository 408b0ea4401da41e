using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using CsvHelper;

namespace Beacon.Simulator;

/// <summary>Writes a district in the formats Ingestion accepts, and uploads such a folder through the gateway.</summary>
public static class DistrictFiles
{
    public static readonly string[] OneRosterFiles = ["orgs.csv", "users.csv", "classes.csv", "enrollments.csv", "demographics.csv"];
    public static readonly (string File, string Path)[] SignalFiles =
    [
        ("attendance.csv", "/api/ingestion/v1/attendance"),
        ("item-responses.csv", "/api/ingestion/v1/item-responses"),
        ("grades.csv", "/api/ingestion/v1/grades"),
        ("behavior-incidents.csv", "/api/ingestion/v1/behavior-incidents"),
    ];

    public static void Write(District district, string folder)
    {
        Directory.CreateDirectory(folder);
        var stamp = "2026-08-01T00:00:00Z";
        Csv(folder, "orgs.csv", ["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"],
            district.Schools.Select(s => new[] { s.SchoolId, "active", stamp, s.Name, "school", s.SchoolId.ToUpperInvariant(), "" }));
        Csv(folder, "users.csv", ["sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username", "givenName", "familyName", "email", "grades"],
            district.Staff.Select(s => new[] { s.StaffId, "active", stamp, "true", s.SchoolId, s.Role, s.StaffId, s.GivenName, s.FamilyName, s.Email, "" })
                .Concat(district.Students.Select(s => new[] { s.StudentId, "active", stamp, "true", s.SchoolId, "student", s.StudentId, s.GivenName, s.FamilyName, "", s.Grade })));
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
        Csv(folder, "attendance.csv", ["studentId", "date", "status"],
            district.Attendance.Select(a => new[] { a.StudentId, D(a.Date), a.Status }));
        Csv(folder, "item-responses.csv", ["studentId", "itemId", "skillIds", "correct", "attemptNumber", "hintsUsed", "timeOnTaskSeconds", "answeredAt"],
            district.Answers.Select(a => new[] { a.StudentId, a.ItemId, a.SkillId, B(a.Correct), I(a.Attempt), I(a.Hints), a.Seconds.ToString(CultureInfo.InvariantCulture), a.At.ToString("O") }));
        Csv(folder, "grades.csv", ["studentId", "courseId", "term", "markPercent", "date"],
            district.Grades.Select(g => new[] { g.StudentId, g.CourseId, g.Term, g.MarkPercent.ToString(CultureInfo.InvariantCulture), D(g.Date) }));
        Csv(folder, "behavior-incidents.csv", ["incidentId", "studentId", "date", "category", "severity"],
            district.Incidents.Select(i => new[] { i.IncidentId, i.StudentId, D(i.Date), i.Category, i.Severity }));
        File.WriteAllText(Path.Combine(folder, "truth.json"), JsonSerializer.Serialize(district.Truth, new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true }));
    }

    /// <summary>Rows per upload request (a part of a signal file).</summary>
    public const int RowsPerRequest = 20_000;

    /// <summary>Uploads a folder written by <see cref="Write"/>: the OneRoster files first, then every signal file.</summary>
    public static async Task<int> UploadAsync(string folder, Uri gateway, TextWriter log, CancellationToken ct)
    {
        using var http = await GatewayClient.CreateAsync(gateway, TimeSpan.FromMinutes(10), ct);
        using var form = new MultipartFormDataContent();
        foreach (var file in OneRosterFiles.Where(f => File.Exists(Path.Combine(folder, f))))
        {
            var content = new ByteArrayContent(await File.ReadAllBytesAsync(Path.Combine(folder, file), ct));
            content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
            form.Add(content, "files", file);
        }
        var failures = 0;
        using (var roster = await http.PostAsync("/api/ingestion/v1/oneroster", form, ct))
        {
            failures += await ReportAsync("oneroster", roster, log, ct);
        }
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

    private static void Csv(string folder, string file, string[] header, IEnumerable<string[]> rows)
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
