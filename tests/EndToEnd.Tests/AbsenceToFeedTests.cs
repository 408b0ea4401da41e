using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Ingestion;
using Beacon.Testing;
using Grpc.Net.Client;
using Xunit.Abstractions;

namespace Beacon.EndToEnd.Tests;

/// <summary>
/// The first real path, all through the gateway, with the six processes running for real:
/// roster → attendance → chronic-absence alert → open case → counselor's feed.
/// </summary>
[Collection(OnePlatformAtATime.Name)]
public sealed class AbsenceToFeedTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan PathTimeout = TimeSpan.FromSeconds(60);
    private BeaconUp _platform = null!;
    private HttpClient _http = null!;
    private string _token = null!;

    public async Task InitializeAsync()
    {
        _platform = await BeaconUp.StartAsync(TimeSpan.FromSeconds(120), demo: false, "e2e");
        output.WriteLine($"Platform ready through the gateway in {_platform.StartupTime.TotalSeconds:F1} s");
        _http = new HttpClient { BaseAddress = _platform.Gateway };
        try
        {
            _token = await TestTokens.FromDevIssuerAsync(_http, "admin-1");
        }
        catch
        {
            // xUnit does not dispose a fixture whose start failed: stop the processes here.
            await DisposeAsync();
            throw;
        }
        _http.WithToken(_token);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _platform.DisposeAsync();
    }

    private async Task<JsonElement> GetAsync(string path)
    {
        using var response = await _http.GetAsync(path);
        Assert.True(response.IsSuccessStatusCode, $"GET {path} -> {(int)response.StatusCode}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static IEnumerable<string> SchoolDays(int count)
    {
        var day = new DateOnly(2026, 9, 1);
        for (var n = 0; n < count; day = day.AddDays(1))
        {
            if (day.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday))
            {
                n++;
                yield return day.ToString("yyyy-MM-dd");
            }
        }
    }

    [Fact]
    public async Task One_student_crossing_into_chronic_absence_reaches_every_counselor_and_opens_one_case()
    {
        try
        {
            await RunPathAsync();
        }
        catch
        {
            output.WriteLine(_platform.Output);
            output.WriteLine(_platform.Logs());
            throw;
        }
    }

    private async Task RunPathAsync()
    {
        // 1. Roster: one school, two counselors, a teacher, two students.
        using (var roster = await _http.PostAsJsonAsync("/api/ingestion/v1/roster", new
        {
            schools = new[] { new { schoolId = "e2e-high", name = "E2E High" } },
            staff = new[]
            {
                new { staffId = "e2e-c1", schoolId = "e2e-high", role = "counselor", givenName = "Ana", familyName = "Lopez", email = "ana@e2e.example.edu" },
                new { staffId = "e2e-c2", schoolId = "e2e-high", role = "counselor", givenName = "Ben", familyName = "Okafor", email = "ben@e2e.example.edu" },
                new { staffId = "e2e-t1", schoolId = "e2e-high", role = "teacher", givenName = "Cy", familyName = "Park", email = "cy@e2e.example.edu" },
            },
            students = new[]
            {
                new { studentId = "e2e-s1", schoolId = "e2e-high", givenName = "Dee", familyName = "Ray", gradeLevel = "10" },
                new { studentId = "e2e-s2", schoolId = "e2e-high", givenName = "Eli", familyName = "Sun", gradeLevel = "10" },
            },
        }))
        {
            Assert.Equal(HttpStatusCode.OK, roster.StatusCode);
        }

        // 2. Twelve school days: s1 misses days 2 and 7 (chronic from day 10, the minimum), s2 misses none.
        var days = SchoolDays(12).ToList();
        var records = days.SelectMany((d, i) => new[]
        {
            new { studentId = "e2e-s1", date = d, status = i is 1 or 6 ? "absent" : "present" },
            new { studentId = "e2e-s2", date = d, status = i == 3 ? "tardy" : "present" },
        }).ToList();
        using (var attendance = await _http.PostAsJsonAsync("/api/ingestion/v1/attendance", new { records }))
        {
            Assert.Equal(HttpStatusCode.OK, attendance.StatusCode);
        }

        // Bad input through the gateway: a 400 naming the row, never a 500.
        using (var bad = await _http.PostAsJsonAsync("/api/ingestion/v1/attendance", new { records = new[] { new { studentId = "e2e-s1", date = days[0], status = "sick" } } }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            var problem = await bad.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(problem.GetProperty("errors").TryGetProperty("records[0].status", out _));
        }

        // 3. Exactly one alert for s1, none for s2.
        var alerts = await Eventually.WaitAsync(() => GetAsync("/api/early-warning/v1/alerts?schoolId=e2e-high"),
            a => a.GetProperty("alerts").GetArrayLength() > 0, PathTimeout);
        var alert = Assert.Single(alerts.GetProperty("alerts").EnumerateArray());
        Assert.Equal("e2e-s1", alert.GetProperty("studentId").GetString());
        Assert.Equal("chronic-absence", alert.GetProperty("kind").GetString());
        var alertId = alert.GetProperty("alertId").GetString();

        // 4. One open, unassigned case for the alert.
        var cases = await Eventually.WaitAsync(() => GetAsync("/api/interventions/v1/cases?studentId=e2e-s1"),
            c => c.GetProperty("cases").GetArrayLength() > 0, PathTimeout);
        var opened = Assert.Single(cases.GetProperty("cases").EnumerateArray());
        Assert.Equal("open", opened.GetProperty("status").GetString());
        Assert.Equal(alertId, opened.GetProperty("alertId").GetString());

        // 5–6. The alert is in both counselors' feeds, not in the teacher's.
        foreach (var counselor in new[] { "e2e-c1", "e2e-c2" })
        {
            var feed = await Eventually.WaitAsync(() => GetAsync($"/api/notifications/v1/staff/{counselor}/feed"),
                f => f.GetProperty("entries").GetArrayLength() > 0, PathTimeout);
            var entry = Assert.Single(feed.GetProperty("entries").EnumerateArray());
            Assert.Equal(alertId, entry.GetProperty("alertId").GetString());
            Assert.Equal("e2e-s1", entry.GetProperty("studentId").GetString());
        }
        Assert.Equal(0, (await GetAsync("/api/notifications/v1/staff/e2e-t1/feed")).GetProperty("entries").GetArrayLength());

        // Later absences keep s1 chronic and raise no second alert.
        using (var more = await _http.PostAsJsonAsync("/api/ingestion/v1/attendance", new
        {
            records = SchoolDays(14).Skip(12).Select(d => new { studentId = "e2e-s1", date = d, status = "absent" }),
        }))
        {
            Assert.Equal(HttpStatusCode.OK, more.StatusCode);
        }
        var indicators = await Eventually.WaitAsync(() => GetAsync("/api/early-warning/v1/students/e2e-s1/indicators"),
            i => i.GetProperty("daysEnrolled").GetInt32() == 14, PathTimeout);
        Assert.Equal(4, indicators.GetProperty("daysAbsent").GetInt32());
        Assert.Single((await GetAsync("/api/early-warning/v1/alerts?schoolId=e2e-high")).GetProperty("alerts").EnumerateArray());

        // The same roster question over gRPC through the gateway's HTTP/2 port.
        using var channel = GrpcChannel.ForAddress(_platform.GatewayGrpc,
            new GrpcChannelOptions { HttpHandler = new BearerTokenHandler(_token, new SocketsHttpHandler()) });
        var counselors = await new Roster.RosterClient(channel).ListSchoolCounselorsAsync(new ListSchoolCounselorsRequest { SchoolId = "e2e-high" });
        Assert.Equal(["e2e-c1", "e2e-c2"], counselors.Counselors.Select(c => c.StaffId));

        // Governance: an administrator erases s1 through the gateway; every service confirms and s1 is gone everywhere.
        using var erasure = await _http.PostAsJsonAsync("/api/ingestion/v1/students/e2e-s1/erasure", new { reason = "end-to-end" });
        Assert.Equal(HttpStatusCode.Accepted, erasure.StatusCode);
        var report = await Eventually.WaitAsync(() => GetAsync(erasure.Headers.Location!.OriginalString), r => r.GetProperty("complete").GetBoolean(), PathTimeout);
        Assert.True(report.GetProperty("complete").GetBoolean(), report.ToString());
        Assert.Empty((await GetAsync("/api/early-warning/v1/alerts?schoolId=e2e-high")).GetProperty("alerts").EnumerateArray());
        Assert.Equal(0, (await GetAsync("/api/interventions/v1/cases?studentId=e2e-s1")).GetProperty("cases").GetArrayLength());
        Assert.Equal(0, (await GetAsync("/api/notifications/v1/staff/e2e-c1/feed")).GetProperty("entries").GetArrayLength());

        // Perfect attendance, failing grades and a suspension: s2 is invisible to the attendance indicator, but the
        // course-performance and behaviour indicators and the dropout model each reach the counselors' feeds through
        // the gateway. The dropout model (cold start) flags the top half, so a student failing two courses is flagged.
        using (var train = await _http.PostAsJsonAsync("/api/early-warning/v1/models/train", new { kind = "dropout", students = 2000, seed = 9, promote = true }))
        {
            Assert.Equal(HttpStatusCode.OK, train.StatusCode);
            var model = await train.Content.ReadFromJsonAsync<JsonElement>();
            using var threshold = await _http.PostAsJsonAsync($"/api/early-warning/v1/models/{model.GetProperty("modelId").GetString()}/thresholds", new { flagTopShare = 0.5 });
            Assert.Equal(HttpStatusCode.OK, threshold.StatusCode);
        }
        using (var grades = await _http.PostAsJsonAsync("/api/ingestion/v1/grades", new
        {
            grades = new[]
            {
                new { studentId = "e2e-s2", courseId = "alg-1", term = "2026-T1", markPercent = 48.0, date = days[10] },
                new { studentId = "e2e-s2", courseId = "eng-10", term = "2026-T1", markPercent = 55.0, date = days[10] },
                new { studentId = "e2e-s2", courseId = "bio", term = "2026-T1", markPercent = 81.0, date = days[10] },
            },
        }))
        {
            Assert.Equal(HttpStatusCode.OK, grades.StatusCode);
        }
        using (var incident = await _http.PostAsJsonAsync("/api/ingestion/v1/behavior-incidents", new
        {
            incidents = new[] { new { incidentId = "e2e-inc-1", studentId = "e2e-s2", date = days[11], category = "out-of-school-suspension", severity = "moderate" } },
        }))
        {
            Assert.Equal(HttpStatusCode.OK, incident.StatusCode);
        }
        var abc = await Eventually.WaitAsync(() => GetAsync("/api/notifications/v1/staff/e2e-c1/feed"),
            f => f.GetProperty("entries").GetArrayLength() >= 3, PathTimeout);
        Assert.All(abc.GetProperty("entries").EnumerateArray(), e => Assert.Equal("e2e-s2", e.GetProperty("studentId").GetString()));
        var kinds = (await GetAsync("/api/early-warning/v1/alerts?schoolId=e2e-high")).GetProperty("alerts").EnumerateArray()
            .Select(a => a.GetProperty("kind").GetString()).Order().ToList();
        Assert.Equal(["behavior", "course-performance", "dropout-model"], kinds);
        var dropout = await GetAsync("/api/early-warning/v1/students/e2e-s2/risk?kind=dropout");
        Assert.True(dropout.GetProperty("flagged").GetBoolean());
        Assert.Contains(dropout.GetProperty("factors").EnumerateArray(), f => f.GetProperty("feature").GetString() is
            "courses_failing" or "mean_mark" or "lowest_mark" or "incidents_term" or "serious_incidents_term" or "days_since_incident");
        var s2 = await GetAsync("/api/early-warning/v1/students/e2e-s2/indicators");
        Assert.False(s2.TryGetProperty("chronicallyAbsent", out var chronic) && chronic.GetBoolean());
        Assert.Contains(s2.GetProperty("indicators").EnumerateArray(),
            i => i.GetProperty("kind").GetString() == "course-performance" && i.GetProperty("explanation").GetString()!.StartsWith("Failing 2 of 3", StringComparison.Ordinal));

        await AssertNoCredentialAtRestAsync();
    }

    /// <summary>
    /// A careless client puts the token in the URL; the live feed opens with a ticket. Afterwards no file of the run
    /// (every process's log, every database with the gateway's audit log) holds the token or the ticket.
    /// </summary>
    private async Task AssertNoCredentialAtRestAsync()
    {
        const string feed = "/api/notifications/v1/staff/e2e-c1/feed";
        using (var careless = await _http.GetAsync($"{feed}?access_token={_token}"))
        {
            Assert.Equal(HttpStatusCode.OK, careless.StatusCode);
        }
        using var issued = await _http.PostAsync($"{feed}/stream-ticket", null);
        Assert.Equal(HttpStatusCode.OK, issued.StatusCode);
        var ticket = (await issued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ticket").GetString()!;
        using (var anonymous = new HttpClient { BaseAddress = _platform.Gateway })
        using (var stream = await anonymous.GetAsync($"{feed}/stream?ticket={ticket}", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        }
        var audit = await GetAsync("/api/audit/v1/entries?userId=admin-1");
        Assert.Contains(audit.EnumerateArray(), e => e.GetProperty("query").GetString() == "?access_token=[redacted]");

        await Task.Delay(1000);   // let the processes write their last lines
        foreach (var file in Directory.EnumerateFiles(_platform.DataDirectory, "*", SearchOption.AllDirectories))
        {
            string text;
            await using (var open = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            using (var reader = new StreamReader(open))
            {
                text = await reader.ReadToEndAsync();
            }
            Assert.False(text.Contains(_token, StringComparison.Ordinal), $"{file} holds the bearer token");
            Assert.False(text.Contains(_token.Split('.')[2], StringComparison.Ordinal), $"{file} holds the bearer token's signature");
            Assert.False(text.Contains(ticket, StringComparison.Ordinal), $"{file} holds the stream ticket");
        }
    }
}
