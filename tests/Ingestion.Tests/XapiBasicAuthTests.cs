using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Beacon.Ingestion.Storage;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// HTTP Basic on the xAPI statement resource, as LMS plugins send it: an administrator issues a key and secret for a
/// source; the key records statements as that source's feed; a wrong secret, an unknown or revoked key is a 401 with
/// WWW-Authenticate: Basic and stores nothing; Basic opens no other route; bearer tokens keep working.
/// </summary>
public sealed class XapiBasicAuthTests(ServiceFactory<Program> service) : IClassFixture<ServiceFactory<Program>>
{
    private const string Statements = "/api/ingestion/v1/xapi/statements";

    private static string Statement(string id, string student = "basic-nobody") => $$$"""
        {"id":"{{{id}}}","actor":{"objectType":"Agent","account":{"homePage":"https://lms.example.edu","name":"{{{student}}}"}},
         "verb":{"id":"http://adlnet.gov/expapi/verbs/experienced"},"object":{"objectType":"Activity","id":"https://lms.example.edu/mod/page/1"}}
        """;

    private HttpClient As(string? key, string? secret, string? raw = null)
    {
        var client = service.CreateClientAs(null);
        client.DefaultRequestHeaders.Add("X-Experience-API-Version", "1.0.3");
        if (raw is not null || key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", raw ?? Convert.ToBase64String(Encoding.UTF8.GetBytes($"{key}:{secret}")));
        }
        return client;
    }

    private async Task<(string Key, string Secret)> IssueAsync(string source)
    {
        using var response = await service.CreateClient().PostAsJsonAsync("/api/ingestion/v1/xapi/credentials", new { source });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body.ToString());
        return (body.GetProperty("key").GetString()!, body.GetProperty("secret").GetString()!);
    }

    private Task<int> StoredAsync(string id) => service.WithDbAsync<IngestionDbContext, int>(db => db.XapiStatements.CountAsync(s => s.StatementId == id));

    [Fact]
    public async Task An_issued_key_and_secret_record_statements_as_the_sources_feed()
    {
        await service.WaitUntilReadyAsync();
        using (var roster = await service.CreateClient().PostAsJsonAsync("/api/ingestion/v1/roster", IngestionApi.Roster("basic-school", "basic-s1")))
        {
            Assert.True(roster.IsSuccessStatusCode, await roster.Content.ReadAsStringAsync());
        }
        var (key, secret) = await IssueAsync("moodle-lakeview");
        var id = Guid.NewGuid().ToString();
        using var response = await As(key, secret).PostAsync(Statements, new StringContent(Statement(id, "basic-s1"), Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        Assert.Equal([id], JsonSerializer.Deserialize<string[]>(body)!);
        Assert.Equal(1, await StoredAsync(id));
        // Recorded under the key's source, whatever source header the caller adds.
        var batch = response.Headers.GetValues("X-Beacon-Batch-Id").Single();
        Assert.Equal(["moodle-lakeview"], await service.WithDbAsync<IngestionDbContext, List<string>>(db => db.Batches.Where(b => b.BatchId.StartsWith(batch)).Select(b => b.Source).ToListAsync()));
        Assert.Equal(1, await service.WithDbAsync<IngestionDbContext, int>(db => db.LmsActivities.CountAsync(a => a.StatementId == id && a.StudentId == "basic-s1")));

        // The same key reads statements back (an LMS plugin checks what it sent).
        using var read = await As(key, secret).GetAsync($"{Statements}?statementId={id}");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);

        // The secret is shown once: the list holds keys and sources, and the database only the secret's hash.
        var listed = await service.CreateClient().GetStringAsync("/api/ingestion/v1/xapi/credentials");
        Assert.Contains(key, listed, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, listed, StringComparison.Ordinal);
        Assert.NotEqual(secret, await service.WithDbAsync<IngestionDbContext, string>(db => db.XapiCredentials.Where(c => c.Key == key).Select(c => c.SecretSha256).SingleAsync()));
    }

    [Fact]
    public async Task A_wrong_secret_an_unknown_or_revoked_key_is_a_401_with_a_basic_challenge_and_stores_nothing()
    {
        await service.WaitUntilReadyAsync();
        var (key, secret) = await IssueAsync("moodle-northside");
        var (revoked, revokedSecret) = await IssueAsync("old-plugin");
        using (var revoke = await service.CreateClient().DeleteAsync($"/api/ingestion/v1/xapi/credentials/{revoked}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        }
        foreach (var (client, what) in new[]
        {
            (As(key, secret + "x"), "wrong secret"), (As("xk_000000000000000000000000", secret), "unknown key"),
            (As(revoked, revokedSecret), "revoked key"), (As(null, null, raw: "not base64!"), "not base64"), (As(null, null), "no credentials"),
        })
        {
            var id = Guid.NewGuid().ToString();
            using var response = await client.PostAsync(Statements, new StringContent(Statement(id), Encoding.UTF8, "application/json"));
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{what}: {(int)response.StatusCode}");
            Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Basic" && h.Parameter!.Contains("realm=", StringComparison.Ordinal));
            Assert.Equal(0, await StoredAsync(id));
        }
    }

    [Fact]
    public async Task Basic_credentials_open_nothing_but_the_statements_and_only_administrators_issue_them()
    {
        await service.WaitUntilReadyAsync();
        var (key, secret) = await IssueAsync("moodle-eastside");
        using (var attendance = await As(key, secret).PostAsJsonAsync("/api/ingestion/v1/attendance", new { records = Array.Empty<object>() }))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, attendance.StatusCode);
        }
        using (var catalog = await As(key, secret).PostAsync("/api/ingestion/v1/xapi/item-catalog", new StringContent("activityId,skillIds\n", Encoding.UTF8, "text/csv")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, catalog.StatusCode);
        }
        using (var issue = await As(key, secret).PostAsJsonAsync("/api/ingestion/v1/xapi/credentials", new { source = "self-issued" }))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, issue.StatusCode);
        }
        using (var asFeed = await service.CreateClientAs(TestTokens.Feed()).PostAsJsonAsync("/api/ingestion/v1/xapi/credentials", new { source = "feed-issued" }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, asFeed.StatusCode);
        }
        using (var noSource = await service.CreateClient().PostAsJsonAsync("/api/ingestion/v1/xapi/credentials", new { source = "" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, noSource.StatusCode);
        }
        // A feed's bearer token still records statements on the same route.
        var bearer = service.CreateClientAs(TestTokens.Feed());
        bearer.DefaultRequestHeaders.Add("X-Experience-API-Version", "1.0.3");
        var id = Guid.NewGuid().ToString();
        using var response = await bearer.PostAsync(Statements, new StringContent(Statement(id), Encoding.UTF8, "application/json"));
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        Assert.Equal(1, await StoredAsync(id));
    }
}
