using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace Beacon.Simulator;

/// <summary>
/// Writes a multi-year district as files, and loads it through the gateway as a district would backfill its history: the
/// calendars, then each year in order — its roster (OneRoster), each school day's attendance, incidents and marks, and its
/// exits (OneRoster users.csv, status tobedeleted, metadata.exitCode) — every batch with ?recordedAt= the end of the day it
/// was recorded, so Early warning's training sets "as known then" see the history as it was known then.
/// </summary>
public static class MultiYearFiles
{
    private const string Gw = "/api/ingestion/v1";

    public static void Write(MultiYearDistrict district, string folder)
    {
        Directory.CreateDirectory(folder);
        DistrictFiles.Csv(folder, "calendars.csv", ["schoolYear", "schoolId", "type", "startDate", "endDate", "description"],
            district.Years.SelectMany(y => CalendarRows(y.Calendar)).Select(r => new[] { r.SchoolYear, "", r.Type, r.StartDate, r.EndDate ?? "", r.Description ?? "" }));
        foreach (var year in district.Years)
        {
            var dir = Path.Combine(folder, year.Calendar.Label);
            DistrictFiles.Write(Roster(district, year), dir, year.Calendar.FirstDay.AddDays(-7));
            DistrictFiles.Csv(dir, "attendance.csv", ["studentId", "date", "status"], year.Attendance.Select(a => new[] { a.StudentId, D(a.Date), a.Status }));
            DistrictFiles.Csv(dir, "grades.csv", ["studentId", "courseId", "term", "markPercent", "date"],
                year.Grades.Select(g => new[] { g.StudentId, g.CourseId, g.Term, g.MarkPercent.ToString(CultureInfo.InvariantCulture), D(g.Date) }));
            DistrictFiles.Csv(dir, "behavior-incidents.csv", ["incidentId", "studentId", "date", "category", "severity"],
                year.Incidents.Select(i => new[] { i.IncidentId, i.StudentId, D(i.Date), i.Category, i.Severity }));
            DistrictFiles.Csv(dir, "exits.csv", ["studentId", "schoolId", "date", "exitCode"], year.Exits.Select(e => new[] { e.StudentId, e.SchoolId, D(e.Date), e.ExitCode }));
            File.WriteAllText(Path.Combine(dir, "truth.json"), JsonSerializer.Serialize(new
            {
                year.Calendar,
                MultiYearGenerator.AttendanceModel,
                MultiYearGenerator.DropoutModel,
                Students = year.Truth,
            }, new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true }));
        }
    }

    /// <summary>The calendar lines POST /calendars takes: the year's first and last day, then each break.</summary>
    public static IEnumerable<(string SchoolYear, string Type, string StartDate, string? EndDate, string? Description)> CalendarRows(SchoolYearInfo year) =>
        new[] { (year.Label, "school-year", D(year.FirstDay), (string?)D(year.LastDay), (string?)null) }
            .Concat(year.Breaks.Select(b => (year.Label, "non-instructional", D(b.From), (string?)D(b.To), (string?)b.Description)));

    /// <summary>
    /// Loads the district's first <paramref name="years"/> years through the gateway (every year if null); up to four
    /// requests of a year's school days in flight. Returns the number of refused requests (0: all stored).
    /// </summary>
    public static async Task<int> UploadAsync(MultiYearDistrict district, Uri gateway, int? years, TextWriter log, CancellationToken ct)
    {
        using var http = await GatewayClient.CreateAsync(gateway, TimeSpan.FromMinutes(5), ct);
        http.DefaultRequestHeaders.Add("X-Beacon-Source", "simulator-history");
        var loading = district.Years.Take(years ?? district.Years.Count).ToList();
        var failures = 0;
        using (var calendars = await http.PostAsJsonAsync($"{Gw}/calendars", new
        {
            entries = loading.SelectMany(y => CalendarRows(y.Calendar)).Select(r => new { schoolYear = r.SchoolYear, type = r.Type, startDate = r.StartDate, endDate = r.EndDate, description = r.Description }),
        }, ct))
        {
            failures += await CheckAsync("calendars", calendars, log, ct);
        }
        foreach (var year in loading)
        {
            var folder = Directory.CreateTempSubdirectory("beacon-history-");
            try
            {
                // Exported the week before the year starts, as recorded (the exits later carry their own days).
                DistrictFiles.Write(Roster(district, year), folder.FullName, year.Calendar.FirstDay.AddDays(-7));
                failures += await DistrictFiles.PostOneRosterAsync(http, folder.FullName, $"?recordedAt={At(year.Calendar.FirstDay.AddDays(-7))}", log, ct);
            }
            finally
            {
                folder.Delete(recursive: true);
            }
            var requests = new List<(string What, Func<Task<HttpResponseMessage>> Send)>();
            var attendance = year.Attendance.ToLookup(a => a.Date);
            var incidents = year.Incidents.ToLookup(i => i.Date);
            var marks = year.Grades.ToLookup(g => g.Date);
            foreach (var day in year.Calendar.SchoolDays)
            {
                var q = $"?recordedAt={At(day)}";
                if (attendance[day].Any())
                {
                    var rows = attendance[day].Select(a => new { studentId = a.StudentId, date = D(a.Date), status = a.Status }).ToList();
                    requests.Add(("attendance", () => http.PostAsJsonAsync($"{Gw}/attendance{q}", new { records = rows }, ct)));
                }
                if (incidents[day].Any())
                {
                    var rows = incidents[day].Select(i => new { incidentId = i.IncidentId, studentId = i.StudentId, date = D(i.Date), category = i.Category, severity = i.Severity }).ToList();
                    requests.Add(("behavior-incidents", () => http.PostAsJsonAsync($"{Gw}/behavior-incidents{q}", new { incidents = rows }, ct)));
                }
                if (marks[day].Any())
                {
                    var rows = marks[day].Select(g => new { studentId = g.StudentId, courseId = g.CourseId, term = g.Term, markPercent = g.MarkPercent, date = D(g.Date) }).ToList();
                    requests.Add(("grades", () => http.PostAsJsonAsync($"{Gw}/grades{q}", new { grades = rows }, ct)));
                }
            }
            using var inFlight = new SemaphoreSlim(4);
            var results = await Task.WhenAll(requests.Select(async r =>
            {
                await inFlight.WaitAsync(ct);
                try
                {
                    using var response = await r.Send();
                    return await CheckAsync(r.What, response, log, ct);
                }
                finally
                {
                    inFlight.Release();
                }
            }));
            failures += results.Sum();
            // Exits after the days they end: a OneRoster users.csv per exit day, the students tobedeleted with the reason.
            var students = year.Students.ToDictionary(s => s.StudentId);
            foreach (var day in year.Exits.GroupBy(e => e.Date).OrderBy(g => g.Key))
            {
                var folderOfDay = Directory.CreateTempSubdirectory("beacon-exits-");
                try
                {
                    DistrictFiles.Csv(folderOfDay.FullName, "users.csv", ["sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username", "givenName", "familyName", "email", "grades", "metadata.exitCode"],
                        day.Select(e => students[e.StudentId]).Select(s => new[] { s.StudentId, "tobedeleted", $"{D(day.Key)}T18:00:00Z", "false", s.SchoolId, "student", s.StudentId, s.GivenName, s.FamilyName, "", s.Grade, day.First(e => e.StudentId == s.StudentId).ExitCode }));
                    failures += await DistrictFiles.PostOneRosterAsync(http, folderOfDay.FullName, $"?recordedAt={At(day.Key)}", TextWriter.Null, ct);
                }
                finally
                {
                    folderOfDay.Delete(recursive: true);
                }
            }
            log.WriteLine($"{year.Calendar.Label}: {year.Students.Count} students, {year.Calendar.SchoolDays.Count} school days, {year.Attendance.Count} attendance records, "
                + $"{year.Incidents.Count} incidents, {year.Grades.Count} marks, {year.Exits.Count} exits ({string.Join(", ", year.Exits.GroupBy(e => e.ExitCode).Select(g => $"{g.Count()} {g.Key}"))}) loaded");
        }
        return failures;
    }

    /// <summary>The year's roster as the single-year writer takes it (students with that year's grade).</summary>
    private static District Roster(MultiYearDistrict district, SimulatedYear year) =>
        new(district.Schools, district.Staff, year.Students, district.Sections, [], [], [], [], new GroundTruth(0, [], MultiYearGenerator.DropoutModel, []));

    private static async Task<int> CheckAsync(string what, HttpResponseMessage response, TextWriter log, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode)
        {
            return 0;
        }
        var body = await response.Content.ReadAsStringAsync(ct);
        log.WriteLine($"{what}: HTTP {(int)response.StatusCode} {body[..Math.Min(body.Length, 400)]}");
        return 1;
    }

    /// <summary>The end of a school day (18:00 UTC), when its records count as recorded.</summary>
    private static string At(DateOnly day) => $"{D(day)}T18:00:00Z";

    private static string D(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
