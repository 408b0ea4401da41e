using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Ingestion.Storage;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Tests;

/// <summary>Bad input gets a 400 problem-details body naming each bad field and row; valid rows are kept; never a 500.</summary>
public sealed class BadInputTests : IClassFixture<ServiceFactory<Program>>
{
    private readonly ServiceFactory<Program> _service;
    private readonly IngestionApi _api;

    public BadInputTests(ServiceFactory<Program> service)
    {
        _service = service;
        _api = new IngestionApi(service.CreateClient());
    }

    private async Task<string> RosterWithOneStudentAsync()
    {
        var school = $"sch-{Guid.NewGuid():N}"[..12];
        var student = $"{school}-s1";
        using var response = await _api.PostAsync("/api/ingestion/v1/roster", IngestionApi.Roster(school, student));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return student;
    }

    private Task<int> StoredDaysAsync(string student) =>
        _service.WithDbAsync<IngestionDbContext, int>(db => db.Attendance.CountAsync(a => a.StudentId == student));

    [Fact]
    public async Task Each_bad_row_is_named_by_index_and_field_and_the_valid_rows_are_kept()
    {
        var student = await RosterWithOneStudentAsync();
        var future = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(3).ToString("yyyy-MM-dd");
        using var response = await _api.PostAsync("/api/ingestion/v1/attendance", new
        {
            records = new object[]
            {
                new { studentId = student, date = "2026-09-01", status = "absent" },
                new { studentId = student, date = "2026-09-02", status = "on-holiday" },
                new { studentId = student, date = future, status = "present" },
                new { studentId = "nobody", date = "2026-09-03", status = "present" },
                new { studentId = student, date = "2026-02-30", status = "present" },
                new { studentId = student, date = "2026-09-01", status = "present" },
                new { studentId = student, date = "2026-09-04", status = "excused-absent" },
            },
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await IngestionApi.ProblemAsync(response);
        Assert.Equal(
            ["records[1].status", "records[2].date", "records[3].studentId", "records[4].date", "records[5].date"],
            IngestionApi.ErrorKeys(problem));
        var errors = problem.GetProperty("errors");
        Assert.Contains("'on-holiday' is not a known status", errors.GetProperty("records[1].status")[0].GetString());
        Assert.Contains("is in the future", errors.GetProperty("records[2].date")[0].GetString());
        Assert.Contains("student 'nobody' is not on the roster", errors.GetProperty("records[3].studentId")[0].GetString());
        Assert.Contains("not a date", errors.GetProperty("records[4].date")[0].GetString());
        Assert.Contains("duplicates records[0]", errors.GetProperty("records[5].date")[0].GetString());
        Assert.Equal(2, problem.GetProperty("accepted").GetInt32());
        Assert.Equal(5, problem.GetProperty("rejected").GetInt32());
        Assert.Equal(2, await StoredDaysAsync(student));
    }

    [Theory]
    [InlineData("{\"records\":[{\"studentId\":\"x\",", "$.records[0]")]
    [InlineData("{\"records\":[{\"studentId\":42}]}", "$.records[0].studentId")]
    [InlineData("{\"records\":{\"studentId\":\"x\"}}", "$.records")]
    [InlineData("not json at all", "$")]
    [InlineData("", "$")]
    public async Task Malformed_json_is_a_400_that_says_where_and_stores_nothing(string body, string where)
    {
        using var response = await _api.PostRawAsync("/api/ingestion/v1/attendance", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await IngestionApi.ProblemAsync(response);
        Assert.Equal([where], IngestionApi.ErrorKeys(problem));
    }

    [Fact]
    public async Task Deeply_nested_json_is_refused_without_a_500()
    {
        var body = "{\"records\":" + new string('[', 200) + new string(']', 200) + "}";
        using var response = await _api.PostRawAsync("/api/ingestion/v1/attendance", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Resending_a_day_changes_nothing_and_a_new_status_is_a_correction()
    {
        var student = await RosterWithOneStudentAsync();
        var day = new { studentId = student, date = "2026-09-07", status = "absent" };
        using (var first = await _api.PostAsync("/api/ingestion/v1/attendance", new { records = new[] { day } }))
        {
            Assert.Equal(1, (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accepted").GetInt32());
        }
        using (var again = await _api.PostAsync("/api/ingestion/v1/attendance", new { records = new[] { day } }))
        {
            var body = await again.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(0, body.GetProperty("accepted").GetInt32());
            Assert.Equal(1, body.GetProperty("unchanged").GetInt32());
        }
        using (var corrected = await _api.PostAsync("/api/ingestion/v1/attendance", new { records = new[] { day with { status = "excused-absent" } } }))
        {
            Assert.Equal(1, (await corrected.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("corrected").GetInt32());
        }
        var history = await _api.GetJsonAsync($"/api/ingestion/v1/students/{student}/attendance");
        Assert.Equal("excused-absent", history.GetProperty("days")[0].GetProperty("status").GetString());
        Assert.Equal(1, await StoredDaysAsync(student));
    }

    [Fact]
    public async Task Roster_rows_that_name_an_unknown_school_or_role_are_rejected_by_index()
    {
        using var response = await _api.PostAsync("/api/ingestion/v1/roster", new
        {
            staff = new[] { new { staffId = "x1", schoolId = "no-such-school", role = "janitor", givenName = "A", familyName = "B", email = "not-an-email" } },
            students = new[] { new { studentId = "", schoolId = "no-such-school", givenName = "A", familyName = "B", gradeLevel = "9" } },
        });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await IngestionApi.ProblemAsync(response);
        Assert.Equal(
            ["staff[0].email", "staff[0].role", "staff[0].schoolId", "students[0].schoolId", "students[0].studentId"],
            IngestionApi.ErrorKeys(problem));
    }

    [Fact]
    public async Task Unknown_student_over_the_json_api_is_a_404_not_a_500()
    {
        using var response = await _service.CreateClient().GetAsync("/api/ingestion/v1/students/nobody-at-all");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var badDate = await _service.CreateClient().GetAsync("/api/ingestion/v1/students/x/attendance?since=yesterday");
        Assert.Equal(HttpStatusCode.BadRequest, badDate.StatusCode);
    }

    private const string Statement = """{"id":"6690e6c9-3ef0-4ed3-8b37-7f3964730bee","actor":{"account":{"homePage":"https://lms.example.org","name":"s1"}},"verb":{"id":"http://adlnet.gov/expapi/verbs/answered"},"object":{"id":"https://x/items/1"},"result":{"success":true},"timestamp":"2026-01-05T10:00:00Z"}""";

    private async Task<HttpResponseMessage> PostBytesAsync(string path, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        return await _service.CreateClient().SendAsync(IngestionApi.WithXapiVersion(new HttpRequestMessage(HttpMethod.Post, path) { Content = content }));
    }

    // Found by the fuzz test (tests/Reliability.Tests): each of these answered 500.
    [Theory]
    [InlineData("/api/ingestion/v1/xapi/statements", "{\"a\":1,\"a\":2}", "Duplicate")]
    [InlineData("/api/ingestion/v1/xapi/statements", "[" + "{\"verb\":{\"id\":\"x\"},\"verb\":{\"id\":\"y\"}}" + "]", "Duplicate")]
    [InlineData("/api/ingestion/v1/attendance", "{\"records\":[],\"records\":[]}", "Duplicate")]
    [InlineData("/api/ingestion/v1/item-responses", "{\"responses\":[{\"studentId\":\"s1\",\"itemId\":\"i1\",\"skillIds\":[\"k1\"],\"correct\":true,\"attemptNumber\":1,\"hintsUsed\":0,\"timeOnTaskSeconds\":1e309}]}", "timeOnTaskSeconds")]
    [InlineData("/api/ingestion/v1/item-responses", "{\"responses\":[{\"studentId\":\"s1\",\"itemId\":\"i1\",\"skillIds\":[\"k1\"],\"correct\":true,\"attemptNumber\":18446744073709551616}]}", "attemptNumber")]
    [InlineData("/api/ingestion/v1/item-responses", "{\"responses\":[{\"studentId\":\"s1\",\"itemId\":\"i1\",\"skillIds\":[\"k1\"],\"correct\":true,\"timeOnTaskSeconds\":-1.7976931348623157e+309}]}", "timeOnTaskSeconds")]
    [InlineData("/api/ingestion/v1/grades", "{\"grades\":[{\"studentId\":\"s1\",\"courseId\":\"c1\",\"term\":\"t1\",\"markPercent\":1e309,\"date\":\"2026-01-05\"}]}", "markPercent")]
    public async Task Duplicate_keys_and_out_of_range_numbers_are_a_400_naming_them(string path, string body, string mentioned)
    {
        using var response = await _api.PostRawAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{path}: {(int)response.StatusCode} {text}");
        Assert.Contains(mentioned, text, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("/api/ingestion/v1/xapi/statements")]
    [InlineData("/api/ingestion/v1/attendance")]
    [InlineData("/api/ingestion/v1/roster")]
    public async Task Bytes_that_are_not_utf8_inside_a_json_string_are_a_400(string path)
    {
        // NAME is replaced by bytes that are not UTF-8 (a broken two-byte sequence, then 0xFF 0xFE).
        var json = path.Contains("xapi") ? Statement.Replace("\"s1\"", "\"NAME\"", StringComparison.Ordinal)
            : path.Contains("roster") ? """{"students":[{"studentId":"s1","schoolId":"x","givenName":"NAME","familyName":"B","gradeLevel":"9"}]}"""
            : """{"records":[{"studentId":"NAME","date":"2026-01-05","status":"present"}]}""";
        var bytes = System.Text.Encoding.UTF8.GetBytes(json).ToList();
        var at = bytes.ToArray().AsSpan().IndexOf("NAME"u8);
        bytes.RemoveRange(at, 4);
        bytes.InsertRange(at, [0xC3, 0x28, 0xFF, 0xFE]);
        using var response = await PostBytesAsync(path, [.. bytes]);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{path}: {(int)response.StatusCode} {text}");
        Assert.Contains("UTF-8", text, StringComparison.Ordinal);
    }
}
