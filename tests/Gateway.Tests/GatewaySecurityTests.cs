using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;

namespace Beacon.Gateway.Tests;

/// <summary>
/// A real backend on a loopback port that answers every path with 200 and remembers what reached it, so
/// the tests can tell a request the gateway refused from one it forwarded.
/// </summary>
public sealed class RecordingBackend : IAsyncDisposable
{
    private readonly WebApplication _app;
    public List<(string Path, string? CorrelationId, string? Authorization)> Requests { get; } = [];
    public string Address { get; }

    public RecordingBackend()
    {
        var builder = WebApplication.CreateSlimBuilder();
        // The test folder holds the gateway's appsettings.json (its Kestrel endpoints): not for this backend.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.Run(async http =>
        {
            lock (Requests)
            {
                Requests.Add((http.Request.Path.Value!, http.Request.Headers["X-Correlation-Id"].ToString(), http.Request.Headers.Authorization.ToString()));
            }
            await http.Response.WriteAsJsonAsync(new { ok = true });
        });
        _app.StartAsync().GetAwaiter().GetResult();
        Address = _app.Urls.First();
    }

    public int Count(string path)
    {
        lock (Requests)
        {
            return Requests.Count(r => r.Path == path);
        }
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

public sealed class GatewayFixture : IAsyncLifetime
{
    public RecordingBackend Backend { get; } = new();
    public ServiceFactory<Program> Gateway { get; private set; } = null!;

    public Task InitializeAsync()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Auth:DevIssuer:Enabled"] = "true",
            ["Gateway:RateLimit:PermitsPerSecond"] = "1000",
            ["Gateway:RateLimit:Burst"] = "1000",
        };
        foreach (var cluster in new[] { "ingestion", "mastery", "early-warning", "interventions", "notifications" })
        {
            settings[$"ReverseProxy:Clusters:{cluster}-http:Destinations:primary:Address"] = Backend.Address;
            settings[$"ReverseProxy:Clusters:{cluster}-http:Destinations:primary:Health"] = null;
        }
        Gateway = new ServiceFactory<Program> { Settings = settings };
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Backend.DisposeAsync();
    }
}

/// <summary>
/// The gateway decides first: no token, a forged, tampered or expired one, or the wrong role never reaches
/// a service. Reads of student records are audited with who, what, when and why; administrators query it.
/// </summary>
public sealed class GatewaySecurityTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private HttpClient Anonymous() => fixture.Gateway.CreateClientAs(null);

    private async Task<string> SignInAsync(string user)
    {
        using var client = Anonymous();
        return await TestTokens.FromDevIssuerAsync(client, user);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("expired")]
    [InlineData("forged")]
    [InlineData("tampered")]
    public async Task A_request_without_a_valid_token_is_refused_before_any_service_sees_it(string who)
    {
        const string path = "/api/early-warning/v1/alerts";
        var before = fixture.Backend.Count(path);
        using var client = fixture.Gateway.CreateClientAs(Callers.Token(who));
        using var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(before, fixture.Backend.Count(path));
    }

    [Fact]
    public async Task The_xapi_about_resource_is_the_only_service_route_open_without_a_token()
    {
        // A learning tool asks the LRS which versions it speaks before it authenticates (xAPI 1.0.3, Communication 2.8).
        const string about = "/api/ingestion/v1/xapi/about", statements = "/api/ingestion/v1/xapi/statements";
        var (aboutBefore, statementsBefore) = (fixture.Backend.Count(about), fixture.Backend.Count(statements));
        using var client = Anonymous();
        using (var response = await client.GetAsync(about))
        {
            Assert.NotEqual(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        Assert.Equal(aboutBefore + 1, fixture.Backend.Count(about));
        // Only GET, only that path: the statements beside it still need a token, and never reach the service without one.
        using (var post = await client.PostAsync(about, null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, post.StatusCode);
        }
        using (var read = await client.GetAsync(statements))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, read.StatusCode);
        }
        Assert.Equal((aboutBefore + 1, statementsBefore), (fixture.Backend.Count(about), fixture.Backend.Count(statements)));
    }

    [Fact]
    public async Task Basic_credentials_reach_the_xapi_statements_alone_for_ingestion_to_check()
    {
        // LMS plugins send HTTP Basic keys Ingestion issued; only Ingestion can check them (and answers 401 to a wrong one).
        const string statements = "/api/ingestion/v1/xapi/statements", attendance = "/api/ingestion/v1/attendance";
        var basic = "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("xk_key:secret"));
        var (statementsBefore, attendanceBefore) = (fixture.Backend.Count(statements), fixture.Backend.Count(attendance));
        using var client = Anonymous();
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", basic);
        using (var post = await client.PostAsync(statements, new StringContent("{}", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        }
        Assert.Contains(fixture.Backend.Requests.ToList(), r => r.Path == statements && r.Authorization == basic);
        // Anywhere else Basic is no credential: refused here, never forwarded.
        using (var other = await client.PostAsync(attendance, new StringContent("{}", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, other.StatusCode);
        }
        Assert.Equal((statementsBefore + 1, attendanceBefore), (fixture.Backend.Count(statements), fixture.Backend.Count(attendance)));
    }

    [Fact]
    public async Task The_development_issuer_signs_in_demo_users_with_their_roles_and_schools()
    {
        using var anonymous = Anonymous();
        var users = await anonymous.GetFromJsonAsync<JsonElement>("/auth/dev/users");
        Assert.Contains(users.EnumerateArray(), u => u.GetProperty("id").GetString() == "ops-1");
        using var unknown = await anonymous.PostAsJsonAsync("/auth/dev/token", new { user = "nobody" });
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);

        using var client = fixture.Gateway.CreateClientAs(await SignInAsync("c-north-1"));
        var me = await client.GetFromJsonAsync<JsonElement>("/auth/me");
        Assert.Equal("c-north-1", me.GetProperty("id").GetString());
        Assert.Equal(["counselor"], me.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(["north"], me.GetProperty("schools").EnumerateArray().Select(r => r.GetString()));
    }

    [Fact]
    public async Task The_development_issuer_is_off_unless_enabled()
    {
        await using var plain = new ServiceFactory<Program>();
        using var client = plain.CreateClientAs(null);
        using var token = await client.PostAsJsonAsync("/auth/dev/token", new { user = "admin-1" });
        Assert.Equal(HttpStatusCode.NotFound, token.StatusCode);
        using var users = await client.GetAsync("/auth/dev/users");
        Assert.Equal(HttpStatusCode.NotFound, users.StatusCode);
    }

    [Fact]
    public async Task Model_monitoring_is_for_ops_only()
    {
        const string path = "/api/early-warning/v1/monitoring/drift";
        using var counselor = fixture.Gateway.CreateClientAs(await SignInAsync("c-north-1"));
        using (var refused = await counselor.GetAsync(path))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }
        using var ops = fixture.Gateway.CreateClientAs(await SignInAsync("ops-1"));
        using var forwarded = await ops.GetAsync(path);
        Assert.True(forwarded.StatusCode == HttpStatusCode.OK, $"{forwarded.StatusCode}: {await forwarded.Content.ReadAsStringAsync()} {string.Join(";", forwarded.Headers.Select(h => h.Key + "=" + string.Join(",", h.Value)))}");
        Assert.Equal(1, fixture.Backend.Count(path));
    }

    [Fact]
    public async Task The_research_profile_and_extracts_are_for_administrators_only_and_audited()
    {
        const string path = "/api/early-warning/v1/research/extracts";
        foreach (var user in new[] { "ops-1", "c-north-1", "coord-district" })
        {
            using var refusedClient = fixture.Gateway.CreateClientAs(await SignInAsync(user));
            using var refused = await refusedClient.GetAsync(path);
            Assert.True(refused.StatusCode == HttpStatusCode.Forbidden, $"{user}: {refused.StatusCode}");
        }
        using (var ops = fixture.Gateway.CreateClientAs(await SignInAsync("ops-1")))
        using (var refused = await ops.PostAsJsonAsync(path, new { schoolYear = "2024-2025", k = 5 }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }
        Assert.Equal(0, fixture.Backend.Count(path));
        using var admin = fixture.Gateway.CreateClientAs(await SignInAsync("admin-1"));
        using var forwarded = await admin.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, forwarded.StatusCode);
        Assert.Equal(1, fixture.Backend.Count(path));

        // The profile (every student of a year) and an extract are disclosures: both are in the audit log, the refused ones too.
        using (var profile = await admin.GetAsync("/api/early-warning/v1/research/profiles?schoolYear=2024-2025"))
        using (var extract = await admin.PostAsJsonAsync(path, new { schoolYear = "2024-2025", k = 5 }))
        {
            Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (profile.StatusCode, extract.StatusCode));
        }
        var entries = (await admin.GetFromJsonAsync<JsonElement>("/api/audit/v1/entries?take=200")).EnumerateArray()
            .Select(e => (Path: e.GetProperty("path").GetString(), User: e.GetProperty("userId").GetString(), Method: e.GetProperty("method").GetString(),
                Status: e.GetProperty("statusCode").GetInt32())).ToList();
        Assert.Contains(("/api/early-warning/v1/research/profiles", "admin-1", "GET", 200), entries);
        Assert.Contains((path, "admin-1", "POST", 200), entries);
        Assert.Contains((path, "ops-1", "POST", 403), entries);
    }

    [Fact]
    public async Task Each_read_of_a_student_record_is_audited_with_who_what_and_why_and_only_administrators_read_the_audit()
    {
        var student = $"aud-{Guid.NewGuid():N}"[..12];
        var token = await SignInAsync("c-north-1");
        using var counselor = fixture.Gateway.CreateClientAs(token);
        using (var request = new HttpRequestMessage(HttpMethod.Get, $"/api/early-warning/v1/students/{student}/risk"))
        {
            request.Headers.Add("X-Access-Purpose", "weekly caseload review");
            using var response = await counselor.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        using (var second = await counselor.GetAsync($"/api/mastery/v1/students/{student}/mastery"))
        {
            Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        }
        // The token reaches the service unchanged, so the service can apply its own record-level rules.
        Assert.Contains(fixture.Backend.Requests.ToList(), r => r.Path.Contains(student) && r.Authorization == $"Bearer {token}");

        using (var refused = await counselor.GetAsync($"/api/audit/v1/entries?studentId={student}"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }
        using var admin = fixture.Gateway.CreateClientAs(await SignInAsync("admin-1"));
        var entries = (await admin.GetFromJsonAsync<JsonElement>($"/api/audit/v1/entries?studentId={student}")).EnumerateArray().ToList();
        Assert.Equal(2, entries.Count);
        var first = entries.Single(e => e.GetProperty("path").GetString()!.Contains("/risk"));
        Assert.Equal("c-north-1", first.GetProperty("userId").GetString());
        Assert.Equal("counselor", first.GetProperty("roles").GetString());
        Assert.Equal("weekly caseload review", first.GetProperty("purpose").GetString());
        Assert.Equal(200, first.GetProperty("statusCode").GetInt32());
        Assert.False(string.IsNullOrEmpty(first.GetProperty("correlationId").GetString()));

        // A search of the roster by name is a read of student records too: the words searched are kept.
        var words = $"audit{Guid.NewGuid():N}"[..16];
        using (var search = await counselor.GetAsync($"/api/ingestion/v1/students?q={words}"))
        {
            Assert.Equal(HttpStatusCode.OK, search.StatusCode);
        }
        var searches = (await admin.GetFromJsonAsync<JsonElement>("/api/audit/v1/entries?userId=c-north-1&take=50")).EnumerateArray()
            .Where(e => e.GetProperty("path").GetString() == "/api/ingestion/v1/students").ToList();
        Assert.Contains(searches, e => e.GetProperty("query").GetString() == $"?q={words}");
    }

    [Fact]
    public async Task A_correlation_id_is_kept_or_made_and_reaches_the_service()
    {
        using var client = fixture.Gateway.CreateClientAs(await SignInAsync("admin-1"));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/interventions/v1/cases?corr=1");
        request.Headers.Add("X-Correlation-Id", "case-review-42");
        using var response = await client.SendAsync(request);
        Assert.Equal("case-review-42", response.Headers.GetValues("X-Correlation-Id").Single());
        Assert.Contains(fixture.Backend.Requests.ToList(), r => r.Path == "/api/interventions/v1/cases" && r.CorrelationId == "case-review-42");

        using var made = await client.GetAsync("/api/interventions/v1/cases");
        Assert.Matches("^[0-9a-f]{32}$", made.Headers.GetValues("X-Correlation-Id").Single());
    }

    [Fact]
    public async Task A_caller_over_the_rate_limit_gets_429_with_retry_after_and_other_callers_are_not_affected()
    {
        await using var limited = new ServiceFactory<Program>
        {
            Settings =
            {
                ["Auth:DevIssuer:Enabled"] = "true",
                ["Gateway:RateLimit:PermitsPerSecond"] = "2",
                ["Gateway:RateLimit:Burst"] = "5",
                ["ReverseProxy:Clusters:interventions-http:Destinations:primary:Address"] = fixture.Backend.Address,
            },
        };
        using var anonymous = limited.CreateClientAs(null);
        using var busy = limited.CreateClientAs(await TestTokens.FromDevIssuerAsync(anonymous, "c-north-1"));
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 12; i++)
        {
            using var response = await busy.GetAsync("/api/interventions/v1/cases");
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
            }
        }
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        Assert.True(statuses.Take(5).All(s => s == HttpStatusCode.OK), string.Join(",", statuses));

        using var other = limited.CreateClientAs(await TestTokens.FromDevIssuerAsync(anonymous, "c-south-1"));
        using var fine = await other.GetAsync("/api/interventions/v1/cases");
        Assert.Equal(HttpStatusCode.OK, fine.StatusCode);
    }

    [Theory]
    [InlineData("/api/ingestion/v1/attendance", "application/json", 17, 413)]
    [InlineData("/api/ingestion/v1/attendance", "application/json", 2, 200)]
    [InlineData("/api/ingestion/v1/attendance", "text/csv", 20, 200)]
    [InlineData("/api/interventions/v1/cases", "application/json", 5, 413)]
    public async Task A_body_over_the_limit_is_refused_with_413_before_it_reaches_a_service(string path, string type, int mebibytes, int expected)
    {
        using var client = fixture.Gateway.CreateClientAs(await SignInAsync(path.Contains("ingestion") ? "feed-sis" : "admin-1"));
        var body = new byte[mebibytes << 20];
        Array.Fill(body, (byte)' ');
        body[0] = (byte)'{';
        body[^1] = (byte)'}';
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(type);
        var before = fixture.Backend.Count(path);
        using var response = await client.PostAsync(path, content);
        Assert.Equal(expected, (int)response.StatusCode);
        Assert.Equal(expected == 200 ? before + 1 : before, fixture.Backend.Count(path));
        if (expected == 413)
        {
            Assert.Contains("at most", await response.Content.ReadAsStringAsync());
        }
    }
}
