using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Beacon.Ingestion.Domain;
using Beacon.Ingestion.Storage;
using Beacon.Messaging;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// The OneRoster REST 1.2 connector against a real provider (<see cref="OneRosterRestProvider"/>, Kestrel on loopback):
/// a full pull over several pages lands what the equivalent CSV bundle lands; a second pull asks only for what changed
/// and applies a tobedeleted user as a withdrawal; a refused secret, a revoked token, a 500 and an answer that is not
/// JSON fail the run with the reason, apply nothing and keep the high-water mark; a refused row is a row error.
/// Each test has its own provider and Ingestion (the mark is per deployment).
/// </summary>
public sealed class OneRosterRestTests
{
    private const string Job = "oneroster-rest-pull";

    private static async Task<ServiceFactory<Program>> StartIngestionAsync(OneRosterRestProvider provider)
    {
        var service = new ServiceFactory<Program> { Settings = ConnectorSettings(provider, "OneRosterRest") };
        await service.WaitUntilReadyAsync();
        return service;
    }

    /// <summary>A connector of the provider under a configuration path (the section itself, or OneRosterRest:Connectors:N), pulled only when asked.</summary>
    internal static Dictionary<string, string?> ConnectorSettings(OneRosterRestProvider provider, string path) => new()
    {
        [$"{path}:Enabled"] = "true",
        [$"{path}:BaseUrl"] = provider.BaseUrl,
        [$"{path}:TokenUrl"] = provider.TokenUrl,
        [$"{path}:ClientId"] = OneRosterRestProvider.ClientId,
        [$"{path}:ClientSecret"] = OneRosterRestProvider.ClientSecret,
        [$"{path}:PageSize"] = "3",
        // Only "pull now" runs it during a test.
        [$"{path}:Interval"] = "1.00:00:00",
        [$"{path}:PollInterval"] = "00:00:00.200",
        ["OneRosterRest:Retries"] = "2",
        ["OneRosterRest:RetryDelay"] = "00:00:00.050",
    };

    /// <summary>"Pull now" of a connector through the jobs API, then its view once the run has finished.</summary>
    internal static async Task<JsonElement> PullNowAsync(ServiceFactory<Program> service, string connector = "default")
    {
        var job = connector == "default" ? Job : $"{Job}-{connector}";
        var client = service.CreateClient();
        var runsBefore = await RunsAsync(client, job);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        // The job is planned by the schedule at start-up; until then there is nothing to run.
        HttpStatusCode status;
        while ((status = (await client.PostAsync($"/api/ingestion/v1/jobs/{job}/run", null)).StatusCode) == HttpStatusCode.NotFound && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
        Assert.Equal(HttpStatusCode.Accepted, status);
        while (await RunsAsync(client, job) <= runsBefore)
        {
            Assert.True(DateTime.UtcNow < deadline, "the pull did not finish within 60 s");
            await Task.Delay(100);
        }
        if (connector == "default")
        {
            return await client.GetFromJsonAsync<JsonElement>("/api/ingestion/v1/oneroster/connector");
        }
        var all = await client.GetFromJsonAsync<JsonElement>("/api/ingestion/v1/oneroster/connectors");
        return all.GetProperty("connectors").EnumerateArray().Single(c => c.GetProperty("connector").GetString() == connector);
    }

    private static async Task<int> RunsAsync(HttpClient client, string job)
    {
        var jobs = await client.GetFromJsonAsync<JsonElement>("/api/ingestion/v1/jobs");
        return jobs.GetProperty("jobs").EnumerateArray().Where(j => j.GetProperty("job").GetString() == job && !j.GetProperty("running").GetBoolean())
            .Select(j => j.GetProperty("runs").GetInt32()).FirstOrDefault();
    }

    [Fact]
    public async Task A_first_full_pull_over_several_pages_lands_what_the_same_csv_bundle_lands()
    {
        await using var provider = await OneRosterRestProvider.StartAsync();
        OneRosterRestData.Load(provider);
        await using var pulled = await StartIngestionAsync(provider);
        await using var uploaded = new ServiceFactory<Program>();

        var view = await PullNowAsync(pulled);
        Assert.True(view.GetProperty("lastOutcome").GetString() == "succeeded", view.ToString());
        Assert.Equal(JsonValueKind.Null, view.GetProperty("lastFilter").ValueKind);
        Assert.Equal(DateTimeOffset.Parse(OneRosterRestData.Newest), view.GetProperty("highWaterMark").GetDateTimeOffset());
        Assert.Equal(10, view.GetProperty("fetched").GetProperty("users").GetInt32());
        // Users came in four pages of three (offset 0, 3, 6, 9), following Link rel="next"; one token served all calls.
        Assert.Equal(["limit=3&offset=0", "limit=3&offset=3", "limit=3&offset=6", "limit=3&offset=9"],
            provider.Requests.Where(r => r.Contains("/users?", StringComparison.Ordinal)).Select(r => r[(r.IndexOf('?') + 1)..]));
        Assert.Equal(1, provider.TokensIssued);
        // The broken rows are row errors (the CSV would have the same two), the rest landed.
        var summary = view.GetProperty("summary");
        Assert.Equal(2, summary.GetProperty("rejected").GetInt32());
        var errorKeys = view.GetProperty("rowErrors").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("users[8].familyName", errorKeys);
        Assert.Contains("enrollments[4].userSourcedId", errorKeys);

        using var csv = new MultipartFormDataContent();
        foreach (var (name, text) in OneRosterRestData.Csv)
        {
            csv.Add(new StringContent(text + "\n", Encoding.UTF8, "text/csv"), "files", name);
        }
        await uploaded.WaitUntilReadyAsync();
        // Under the connector's source name, so each school records the same source either way.
        using var upload = new HttpRequestMessage(HttpMethod.Post, "/api/ingestion/v1/oneroster") { Content = csv };
        upload.Headers.Add("X-Beacon-Source", "oneroster-rest");
        using var response = await uploaded.CreateClient().SendAsync(upload);
        // The same two rows refused, the rest stored.
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, body);
        Assert.Equal(["enrollments.csv:lines[6].userSourcedId", "users.csv:lines[10].familyName"],
            JsonDocument.Parse(body).RootElement.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));

        var fromRest = await SnapshotAsync(pulled);
        Assert.Contains(fromRest, r => r.StartsWith("Student ", StringComparison.Ordinal) && r.Contains("\"StudentId\":\"s6\"", StringComparison.Ordinal));
        Assert.Contains(fromRest, r => r.StartsWith("SectionEnrollment ", StringComparison.Ordinal) && r.Contains("\"PersonId\":\"tch\"", StringComparison.Ordinal));
        Assert.Contains(fromRest, r => r.StartsWith("event StudentContactRecorded ", StringComparison.Ordinal));
        Assert.Equal(await SnapshotAsync(uploaded), fromRest);
    }

    [Fact]
    public async Task A_second_pull_asks_only_for_changes_and_applies_a_tobedeleted_user_and_a_students_last_enrollment_as_withdrawals()
    {
        await using var provider = await OneRosterRestProvider.StartAsync();
        OneRosterRestData.Load(provider);
        await using var service = await StartIngestionAsync(provider);
        Assert.Equal("succeeded", (await PullNowAsync(service)).GetProperty("lastOutcome").GetString());

        const string Later = "2026-10-05T12:00:00.000Z";
        var leaving = OneRosterRestData.User("s2", "Noah", "Reed", "student", "hs", "10", modified: Later, status: "tobedeleted");
        leaving["metadata"]!["exitCode"] = "transferred";
        provider.Put("users", leaving, OneRosterRestData.User("s3", "Mia", "Cole-Hart", "student", "hs", "09", modified: Later));
        provider.Put("enrollments", OneRosterRestData.Enrollment("e5", "alg", "s5", "student", Later),
            OneRosterRestData.Enrollment("e1", "alg", "s1", "student", Later, status: "tobedeleted"));
        provider.Requests.Clear();

        var view = await PullNowAsync(service);
        Assert.True(view.GetProperty("lastOutcome").GetString() == "succeeded", view.ToString());
        // Every call of the second pull carried the filter from the first pull's mark, in the binding's grammar.
        const string Filter = "filter=dateLastModified>'2026-09-03T10:15:00.000Z'";
        Assert.Equal(Filter[7..], view.GetProperty("lastFilter").GetString());
        Assert.Equal(6, provider.Requests.Count);
        Assert.All(provider.Requests, r => Assert.EndsWith("&" + Filter, r, StringComparison.Ordinal));
        Assert.Equal(2, view.GetProperty("fetched").GetProperty("users").GetInt32());
        Assert.Equal(2, view.GetProperty("fetched").GetProperty("enrollments").GetInt32());
        Assert.Equal(0, view.GetProperty("fetched").GetProperty("orgs").GetInt32());
        Assert.Equal(DateTimeOffset.Parse(Later), view.GetProperty("highWaterMark").GetDateTimeOffset());

        var (s2, s3, members, exited) = await service.WithDbAsync<IngestionDbContext, (Student, Student, List<string>, List<string>)>(async db => (
            await db.Students.AsNoTracking().SingleAsync(s => s.StudentId == "s2"),
            await db.Students.AsNoTracking().SingleAsync(s => s.StudentId == "s3"),
            await db.SectionEnrollments.AsNoTracking().Where(e => e.SectionId == "alg").Select(e => e.PersonId).OrderBy(p => p).ToListAsync(),
            await db.Set<OutboxMessage>().AsNoTracking().Where(m => m.MessageType.Contains("StudentExited")).Select(m => m.Body).ToListAsync()));
        Assert.Equal(StudentStatuses.Withdrawn, s2.Status);
        Assert.Equal("Cole-Hart", s3.FamilyName);
        Assert.Equal(["s3", "s5", "tch"], members);   // s1's enrollment ended, s2 left with the withdrawal, s5 joined
        Assert.Equal(2, exited.Count);
        var exit = Assert.Single(exited, e => e.Contains("\"s2\"", StringComparison.Ordinal));
        Assert.Contains("transferred", exit, StringComparison.Ordinal);
        // alg was s1's only class at the school: the deleted enrollment took them out of it, so they left it too.
        var left = Assert.Single(exited, e => e.Contains("\"s1\"", StringComparison.Ordinal));
        Assert.Contains("last class enrollment at the school ended", left, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_secret_a_revoked_token_a_500_or_not_json_fails_the_run_applies_nothing_and_keeps_the_mark()
    {
        await using var provider = await OneRosterRestProvider.StartAsync();
        OneRosterRestData.Load(provider);
        await using var service = await StartIngestionAsync(provider);
        Assert.Equal("succeeded", (await PullNowAsync(service)).GetProperty("lastOutcome").GetString());
        var mark = DateTimeOffset.Parse(OneRosterRestData.Newest);
        const string Later = "2026-10-05T12:00:00.000Z";
        provider.Put("users", OneRosterRestData.User("s4", "Leo", "Parker", "student", "hs", "11", modified: Later));

        async Task AssertFailedAsync(string reason)
        {
            var view = await PullNowAsync(service);
            Assert.Equal("failed", view.GetProperty("lastOutcome").GetString());
            Assert.Contains(reason, view.GetProperty("lastError").GetString(), StringComparison.Ordinal);
            Assert.Equal(mark, view.GetProperty("highWaterMark").GetDateTimeOffset());
            Assert.Equal("Park", await service.WithDbAsync<IngestionDbContext, string>(db => db.Students.Where(s => s.StudentId == "s4").Select(s => s.FamilyName).SingleAsync()));
            var jobs = await service.CreateClient().GetFromJsonAsync<JsonElement>("/api/ingestion/v1/jobs");
            var job = jobs.GetProperty("jobs").EnumerateArray().Single(j => j.GetProperty("job").GetString() == Job);
            Assert.StartsWith("failed: ", job.GetProperty("lastOutcome").GetString(), StringComparison.Ordinal);
        }

        // The provider rotated its secret and revoked its tokens: the held token is refused, then so is the old secret.
        provider.Secret = "rotated-secret";
        provider.ForgetTokens();
        await AssertFailedAsync("/ims/oneroster/rostering/v1p2/orgs?limit=3&offset=0&filter=dateLastModified>'2026-09-03T10:15:00.000Z': the provider refused the access token (401 Unauthorized)");
        await AssertFailedAsync("token endpoint /oauth/token refused the client credentials (401 Unauthorized: invalid_client (unknown client or wrong secret))");
        provider.Secret = OneRosterRestProvider.ClientSecret;

        // Users were fetched before enrollments failed: none of them is applied. Two retries, then the run fails.
        provider.Requests.Clear();
        provider.Failures["enrollments"] = (500, 3);
        await AssertFailedAsync("enrollments?limit=3&offset=0&filter=dateLastModified>'2026-09-03T10:15:00.000Z': the provider answered 500 Internal Server Error (after 2 retries)");
        Assert.Equal(3, provider.Requests.Count(r => r.Contains("/enrollments?", StringComparison.Ordinal)));

        provider.Failures["classes"] = (0, 1);
        await AssertFailedAsync("classes?limit=3&offset=0&filter=dateLastModified>'2026-09-03T10:15:00.000Z': the answer is not JSON");

        // A 500 that clears within the retries is no failure: the standard resilience handler asked again.
        provider.Failures["orgs"] = (503, 1);
        var view = await PullNowAsync(service);
        Assert.True(view.GetProperty("lastOutcome").GetString() == "succeeded", view.ToString());
        Assert.Equal(DateTimeOffset.Parse(Later), view.GetProperty("highWaterMark").GetDateTimeOffset());
        Assert.Equal("Parker", await service.WithDbAsync<IngestionDbContext, string>(db => db.Students.Where(s => s.StudentId == "s4").Select(s => s.FamilyName).SingleAsync()));
    }

    [Fact]
    public async Task A_row_the_validator_refuses_is_a_row_error_and_quarantined_while_the_other_rows_land()
    {
        await using var provider = await OneRosterRestProvider.StartAsync();
        OneRosterRestData.Load(provider);
        // Without Link headers the connector pages by X-Total-Count.
        provider.SendLinks = false;
        await using var service = await StartIngestionAsync(provider);
        var view = await PullNowAsync(service);
        Assert.True(view.GetProperty("lastOutcome").GetString() == "succeeded", view.ToString());
        Assert.Equal(["limit=3&offset=0", "limit=3&offset=3", "limit=3&offset=6", "limit=3&offset=9"],
            provider.Requests.Where(r => r.Contains("/users?", StringComparison.Ordinal)).Select(r => r[(r.IndexOf('?') + 1)..]));

        Assert.Equal(["is required."], view.GetProperty("rowErrors").GetProperty("users[8].familyName").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["user 'ghost' is not on the roster."], view.GetProperty("rowErrors").GetProperty("enrollments[4].userSourcedId").EnumerateArray().Select(e => e.GetString()));
        var (students, quarantined) = await service.WithDbAsync<IngestionDbContext, (List<string>, List<string>)>(async db => (
            await db.Students.AsNoTracking().Select(s => s.StudentId).OrderBy(s => s).ToListAsync(),
            await db.Quarantine.AsNoTracking().Where(q => q.Source == "oneroster-rest").Select(q => q.Position).OrderBy(p => p).ToListAsync()));
        Assert.Equal(["s1", "s2", "s3", "s4", "s5", "s6"], students);
        Assert.Equal(["enrollments[4]", "users[8]"], quarantined);
    }

    /// <summary>What an import leaves: the roster's rows and the events it published (times, which differ run to run, left out).</summary>
    private static Task<List<string>> SnapshotAsync(ServiceFactory<Program> service) => service.WithDbAsync<IngestionDbContext, List<string>>(async db =>
    {
        var rows = new List<string>();
        void Add<T>(IEnumerable<T> items) => rows.AddRange(items.Select(i => $"{typeof(T).Name} {Timeless(JsonSerializer.SerializeToNode(i)!)}"));
        Add(await db.Schools.AsNoTracking().ToListAsync());
        Add(await db.Staff.AsNoTracking().ToListAsync());
        Add(await db.Students.AsNoTracking().ToListAsync());
        Add(await db.Sections.AsNoTracking().ToListAsync());
        Add(await db.SectionEnrollments.AsNoTracking().ToListAsync());
        Add(await db.Demographics.AsNoTracking().ToListAsync());
        Add(await db.StudentContacts.AsNoTracking().ToListAsync());
        Add(await db.AcademicSessions.AsNoTracking().ToListAsync());
        Add(await db.StudentIdentifiers.AsNoTracking().ToListAsync());
        Add(await db.CalendarEntries.AsNoTracking().ToListAsync());
        foreach (var message in await db.Set<OutboxMessage>().AsNoTracking().ToListAsync())
        {
            rows.Add($"event {message.MessageType.Split(',')[0].Split('.')[^1]} {Timeless(JsonNode.Parse(message.Body)!)}");
        }
        return [.. rows.Order(StringComparer.Ordinal)];
    });

    /// <summary>The JSON without date-time values (a date alone, like a session's start, stays).</summary>
    private static string Timeless(JsonNode node)
    {
        if (node is JsonObject o)
        {
            foreach (var (name, value) in o.ToList())
            {
                if (value is JsonValue v && v.TryGetValue<string>(out var text) && text.Contains('T', StringComparison.Ordinal) && DateTimeOffset.TryParse(text, out _))
                {
                    o.Remove(name);
                }
                else if (value is not null)
                {
                    Timeless(value);
                }
            }
        }
        else if (node is JsonArray a)
        {
            foreach (var item in a.OfType<JsonNode>())
            {
                Timeless(item);
            }
        }
        return node.ToJsonString();
    }
}
