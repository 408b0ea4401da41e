using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Beacon.Ingestion.Storage;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Tests;

/// <summary>CSV uploads, batch ids, the quarantine and the data-quality report.</summary>
public sealed class CsvAndQuarantineTests : IClassFixture<ServiceFactory<Program>>
{
    private readonly ServiceFactory<Program> _service;
    private readonly HttpClient _http;
    private readonly IngestionApi _api;

    public CsvAndQuarantineTests(ServiceFactory<Program> service)
    {
        _service = service;
        _http = service.CreateClient();
        // The 100,000-row upload can take minutes on a loaded 2-core machine; the default 100 s is too tight.
        _http.Timeout = TimeSpan.FromMinutes(5);
        _api = new IngestionApi(_http);
    }

    private async Task<(string School, string[] Students)> RosterAsync(int students)
    {
        var school = $"sch-{Guid.NewGuid():N}"[..12];
        var ids = Enumerable.Range(1, students).Select(i => $"{school}-s{i}").ToArray();
        using var response = await _api.PostAsync("/api/ingestion/v1/roster", IngestionApi.Roster(school, ids));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (school, ids);
    }

    private Task<HttpResponseMessage> PostCsvAsync(string path, string csv, string? batchId = null) => PostCsvAsync(path, Encoding.UTF8.GetBytes(csv), batchId);

    private async Task<HttpResponseMessage> PostCsvAsync(string path, byte[] csv, string? batchId = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(csv) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        request.Headers.Add("X-Beacon-Source", "sis-test");
        if (batchId is not null)
        {
            request.Headers.Add("Idempotency-Key", batchId);
        }
        return await _http.SendAsync(request);
    }

    [Fact]
    public async Task A_100000_row_csv_with_1_percent_bad_rows_keeps_every_good_row_and_names_each_bad_line()
    {
        var (_, students) = await RosterAsync(1000);
        var csv = new StringBuilder("studentId,date,status\n");
        var badLines = new List<int>();
        var start = new DateOnly(2025, 9, 1);
        for (var i = 0; i < 100_000; i++)
        {
            var line = i + 2;   // line 1 is the header
            var student = students[i % 1000];
            var date = start.AddDays(i / 1000).ToString("yyyy-MM-dd");   // 100 school days, all in the past
            if (i % 100 == 37)
            {
                badLines.Add(line);
                csv.Append(i % 200 == 37 ? $"{student},{date},sick\n" : $"{student},not-a-date,absent\n");
            }
            else
            {
                csv.Append($"{student},{date},{(i % 7 == 0 ? "absent" : "present")}\n");
            }
        }

        using var response = await PostCsvAsync("/api/ingestion/v1/attendance", csv.ToString());
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await IngestionApi.ProblemAsync(response);
        Assert.Equal(100_000, problem.GetProperty("received").GetInt32());
        Assert.Equal(99_000, problem.GetProperty("accepted").GetInt32());
        Assert.Equal(1_000, problem.GetProperty("rejected").GetInt32());
        var reportedLines = problem.GetProperty("errors").EnumerateObject()
            .Select(e => int.Parse(e.Name["lines[".Length..e.Name.IndexOf(']')])).Distinct().Order().ToList();
        Assert.Equal(badLines, reportedLines);
        Assert.True(problem.GetProperty("errors").TryGetProperty($"lines[{badLines[0]}].status", out _));
        Assert.True(problem.GetProperty("errors").TryGetProperty($"lines[{badLines[1]}].date", out _));

        var ids = students.ToList();
        Assert.Equal(99_000, await _service.WithDbAsync<IngestionDbContext, int>(db => db.Attendance.CountAsync(a => ids.Contains(a.StudentId))));
        var batchId = problem.GetProperty("batchId").GetString()!;
        Assert.Equal(1_000, await _service.WithDbAsync<IngestionDbContext, int>(db => db.Quarantine.CountAsync(q => q.BatchId == batchId)));
    }

    [Fact]
    public async Task Re_sending_a_batch_id_changes_nothing_and_returns_the_first_answer()
    {
        var (_, students) = await RosterAsync(1);
        var csv = $"student_id,date,status\n{students[0]},2026-09-01,absent\n{students[0]},2026-09-02,maybe\n";
        var batchId = $"batch-{Guid.NewGuid():N}";
        using (var first = await PostCsvAsync("/api/ingestion/v1/attendance", csv, batchId))
        {
            Assert.Equal(HttpStatusCode.BadRequest, first.StatusCode);
        }
        using var again = await PostCsvAsync("/api/ingestion/v1/attendance", csv, batchId);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var summary = await again.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(summary.GetProperty("replayed").GetBoolean());
        Assert.Equal(1, summary.GetProperty("accepted").GetInt32());
        Assert.Equal(1, summary.GetProperty("rejected").GetInt32());
        Assert.Equal(1, await _service.WithDbAsync<IngestionDbContext, int>(db => db.Quarantine.CountAsync(q => q.BatchId == batchId)));
        Assert.Equal(1, await _service.WithDbAsync<IngestionDbContext, int>(db => db.Attendance.CountAsync(a => a.StudentId == students[0])));
    }

    [Fact]
    public async Task A_quarantined_row_can_be_listed_fixed_and_resubmitted()
    {
        var (_, students) = await RosterAsync(1);
        var batchId = $"batch-{Guid.NewGuid():N}";
        using (var first = await PostCsvAsync("/api/ingestion/v1/grades", $"studentId,courseId,term,markPercent,date\n{students[0]},MATH9,2026-T1,142,2026-10-01\n", batchId))
        {
            Assert.Equal(HttpStatusCode.BadRequest, first.StatusCode);
            var problem = await IngestionApi.ProblemAsync(first);
            Assert.Equal(["lines[2].markPercent"], IngestionApi.ErrorKeys(problem));
        }
        var open = await _http.GetFromJsonAsync<JsonElement>("/api/ingestion/v1/quarantine?kind=grades&limit=1000");
        var entry = open.EnumerateArray().Single(e => e.GetProperty("batchId").GetString() == batchId);
        Assert.Equal("lines[2]", entry.GetProperty("position").GetString());
        Assert.Contains("markPercent", entry.GetProperty("errors")[0].GetString());
        var id = entry.GetProperty("id").GetInt64();

        // Still wrong: stays open, answer says why.
        using (var stillBad = await _http.PostAsJsonAsync($"/api/ingestion/v1/quarantine/{id}/resubmit",
            new { studentId = students[0], courseId = "MATH9", term = "2026-T1", markPercent = -3, date = "2026-10-01" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, stillBad.StatusCode);
        }
        using (var fixedRow = await _http.PostAsJsonAsync($"/api/ingestion/v1/quarantine/{id}/resubmit",
            new { studentId = students[0], courseId = "MATH9", term = "2026-T1", markPercent = 42, date = "2026-10-01" }))
        {
            Assert.Equal(HttpStatusCode.OK, fixedRow.StatusCode);
        }
        using (var twice = await _http.PostAsJsonAsync($"/api/ingestion/v1/quarantine/{id}/resubmit", new { }))
        {
            Assert.Equal(HttpStatusCode.Conflict, twice.StatusCode);
        }
        var grade = await _service.WithDbAsync<IngestionDbContext, double>(db => db.Grades.Where(g => g.StudentId == students[0]).Select(g => g.MarkPercent).SingleAsync());
        Assert.Equal(42, grade);
    }

    [Theory]
    [InlineData("studentId,date,status\nX,2026-09-01,present,extra,fields\n", "lines[2].row")]
    [InlineData("studentId,date,status\n\"unterminated,2026-09-01,present\n", "lines[2].row")]
    [InlineData("", "lines[1].header")]
    public async Task Malformed_csv_is_a_400_with_the_line_never_a_500(string csv, string key)
    {
        using var response = await PostCsvAsync("/api/ingestion/v1/attendance", csv);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(key, IngestionApi.ErrorKeys(await IngestionApi.ProblemAsync(response)));
    }

    [Fact]
    public async Task Invalid_utf8_and_hostile_values_are_rejected_cleanly()
    {
        var (_, students) = await RosterAsync(1);
        var bytes = Encoding.UTF8.GetBytes($"studentId,date,status\n{students[0]},2026-09-03,present\n").Concat(new byte[] { 0xC3, 0x28, 0x0A }).ToArray();
        using (var response = await PostCsvAsync("/api/ingestion/v1/attendance", bytes))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal(["lines[3].row"], IngestionApi.ErrorKeys(await IngestionApi.ProblemAsync(response)));
        }
        var hostile = $"studentId,date,status\n'; DROP TABLE Attendance; --,2026-09-01,present\n{students[0]},2026-09-04,<script>alert(1)</script>\n{new string('x', 5000)},2026-09-01,present\n";
        using (var response = await PostCsvAsync("/api/ingestion/v1/attendance", hostile))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var problem = await IngestionApi.ProblemAsync(response);
            Assert.Equal(3, problem.GetProperty("rejected").GetInt32());
            Assert.Equal(["lines[2].studentId", "lines[3].status", "lines[4].studentId"], IngestionApi.ErrorKeys(problem));
            Assert.All(problem.GetProperty("errors").EnumerateObject().SelectMany(e => e.Value.EnumerateArray()), m => Assert.True(m.GetString()!.Length < 200));
        }
        Assert.Equal(1, await _service.WithDbAsync<IngestionDbContext, int>(db => db.Attendance.CountAsync(a => a.StudentId == students[0])));
    }

    [Fact]
    public async Task Behaviour_incidents_and_item_responses_come_in_as_csv_too()
    {
        var (_, students) = await RosterAsync(1);
        var s = students[0];
        using (var incidents = await PostCsvAsync("/api/ingestion/v1/behavior-incidents",
            $"incidentId,studentId,date,category,severity\ninc-{s}-1,{s},2026-09-10,disruption,minor\ninc-{s}-2,{s},2026-09-11,arson?,major\n"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, incidents.StatusCode);
            Assert.Equal(["lines[3].category"], IngestionApi.ErrorKeys(await IngestionApi.ProblemAsync(incidents)));
        }
        using (var answers = await PostCsvAsync("/api/ingestion/v1/item-responses",
            $"studentId,itemId,skillIds,correct,attemptNumber,hintsUsed,timeOnTaskSeconds,answeredAt\n{s},item-1,fractions;decimals,1,1,0,35.5,2026-09-10T10:00:00Z\n{s},item-2,fractions,perhaps,1,0,20,2026-09-10T10:01:00Z\n"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, answers.StatusCode);
            Assert.Equal(["lines[3].correct"], IngestionApi.ErrorKeys(await IngestionApi.ProblemAsync(answers)));
        }
        var skills = await _service.WithDbAsync<IngestionDbContext, string>(db => db.ItemResponses.Where(r => r.StudentId == s).Select(r => r.SkillIds).SingleAsync());
        Assert.Equal("fractions,decimals", skills);
    }

    [Fact]
    public async Task The_data_quality_report_counts_rows_by_source_and_reason()
    {
        var (_, students) = await RosterAsync(2);
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var csv = $"studentId,date,status\n{students[0]},{today.AddDays(-10):yyyy-MM-dd},absent\n{students[0]},{today:yyyy-MM-dd},gone\n";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/ingestion/v1/attendance?source=quality-probe") { Content = new StringContent(csv, Encoding.UTF8, "text/csv") };
        using (await _http.SendAsync(request))
        {
        }
        var report = await _http.GetFromJsonAsync<JsonElement>($"/api/ingestion/v1/data-quality?day={today:yyyy-MM-dd}&silentDays=5");
        var probe = report.GetProperty("sources").EnumerateArray().Single(x => x.GetProperty("source").GetString() == "quality-probe");
        Assert.Equal(2, probe.GetProperty("received").GetInt32());
        Assert.Equal(1, probe.GetProperty("accepted").GetInt32());
        Assert.Equal(1, probe.GetProperty("lateArrivals").GetInt32());
        Assert.Equal(1, probe.GetProperty("rejectedByField").GetProperty("status").GetInt32());
        // Neither student has a record in the last 5 days (the only stored day is 10 days back).
        var sample = report.GetProperty("studentsWithoutAttendanceSample").EnumerateArray().Select(x => x.GetString()).ToList();
        Assert.True(report.GetProperty("studentsWithoutAttendance").GetInt32() >= 2);
        Assert.True(sample.Count == 100 || (sample.Contains(students[0]) && sample.Contains(students[1])));
    }

    [Fact]
    public async Task The_data_quality_report_downloads_as_csv_for_a_spreadsheet()
    {
        var (_, students) = await RosterAsync(2);
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        // A source named like a formula: the file must not let a spreadsheet run it.
        var source = $"=csv-probe-{Guid.NewGuid():N}"[..20];
        var csv = $"studentId,date,status\n{students[0]},{today:yyyy-MM-dd},absent\n{students[0]},{today.AddDays(-1):yyyy-MM-dd},gone\n{students[1]},nope,absent\n";
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/ingestion/v1/attendance?source={Uri.EscapeDataString(source)}") { Content = new StringContent(csv, Encoding.UTF8, "text/csv") };
        using (await _http.SendAsync(request))
        {
        }

        using var report = await _http.GetAsync($"/api/ingestion/v1/data-quality/export?day={today:yyyy-MM-dd}");
        Assert.Equal(HttpStatusCode.OK, report.StatusCode);
        Assert.Equal("text/csv", report.Content.Headers.ContentType?.MediaType);
        Assert.Equal($"data-quality-{today:yyyy-MM-dd}.csv", report.Content.Headers.ContentDisposition?.FileNameStar ?? report.Content.Headers.ContentDisposition?.FileName);
        var bytes = await report.Content.ReadAsByteArrayAsync();
        Assert.Equal(Encoding.UTF8.GetPreamble(), bytes[..3]);
        var lines = Encoding.UTF8.GetString(bytes[3..]).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("day,source,kind,batches,received,accepted,unchanged,corrected,rejected,late_arrivals,rejected_by_field", lines[0]);
        var row = Assert.Single(lines, l => l.Contains(source[1..], StringComparison.Ordinal));
        // CsvHelper's injection escaping: an apostrophe before the =, and the cell quoted.
        Assert.Equal($"{today:yyyy-MM-dd},\"'{source}\",attendance,1,3,1,0,0,2,0,date=1; status=1", row);

        using var silent = await _http.GetAsync($"/api/ingestion/v1/data-quality/export?day={today:yyyy-MM-dd}&part=silent-students&silentDays=5");
        var silentLines = (await silent.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        // ReadAsStringAsync drops the byte-order mark (its presence is checked above).
        Assert.Equal("day,student_id,days_without_attendance", silentLines[0]);
        Assert.Contains($"{today:yyyy-MM-dd},{students[1]},5", silentLines);
        Assert.DoesNotContain($"{today:yyyy-MM-dd},{students[0]},5", silentLines);

        foreach (var (query, field) in new[] { ("day=yesterday", "day"), ("part=everything", "part") })
        {
            using var bad = await _http.GetAsync($"/api/ingestion/v1/data-quality/export?{query}");
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Equal([field], IngestionApi.ErrorKeys(await IngestionApi.ProblemAsync(bad)));
        }
    }
}
