extern alias GatewayApp;
extern alias NotificationsApp;

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Beacon.Testing;
using GatewayApp::Beacon.Gateway.Security;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using NotificationsApp::Beacon.Notifications.Outbound;
using NotificationsApp::Beacon.Notifications.Storage;

namespace Beacon.Security.Tests;

/// <summary>
/// The platform probed as an attacker with a staff account would (issue 26), against real parts: the gateway, a real
/// Notifications and Interventions on their own ports, a real webhook receiver. Each row of the README's security
/// table is one test here.
/// </summary>
public sealed partial class SecurityProbeTests(SecurityPlatform platform) : IClassFixture<SecurityPlatform>
{
    private const string NorthFeed = "/api/notifications/v1/staff/c-north-1/feed";

    private async Task<string> SignInAsync(string user)
    {
        using var anonymous = platform.Gateway.CreateClientAs(null);
        return await TestTokens.FromDevIssuerAsync(anonymous, user);
    }

    private async Task<HttpClient> AsAsync(string user) => platform.Gateway.CreateClientAs(await SignInAsync(user));

    private static async Task<string> TicketAsync(HttpClient client, string feed)
    {
        using var response = await client.PostAsync($"{feed}/stream-ticket", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ticket").GetString()!;
    }

    private async Task<HttpStatusCode> OpenStreamAsync(string feed, string query, bool readReady = false)
    {
        using var client = platform.Gateway.CreateClientAs(null);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var response = await client.GetAsync($"{feed}/stream{query}", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        if (readReady && response.IsSuccessStatusCode)
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
            Assert.Equal("event: ready", await reader.ReadLineAsync(cancel.Token));
        }
        return response.StatusCode;
    }

    // ---- 1. No token in a URL, none at rest -----------------------------------------------------------------

    [Fact]
    public async Task The_live_feed_opens_with_a_single_use_ticket_bound_to_its_user_and_stream_and_never_with_a_token_in_the_url()
    {
        using var north = await AsAsync("c-north-1");
        var token = north.DefaultRequestHeaders.Authorization!.Parameter!;
        Assert.Equal(HttpStatusCode.Unauthorized, await OpenStreamAsync(NorthFeed, $"?access_token={token}"));
        Assert.Equal(HttpStatusCode.Unauthorized, await OpenStreamAsync(NorthFeed, "?ticket=made-up"));

        var ticket = await TicketAsync(north, NorthFeed);
        Assert.Equal(HttpStatusCode.Unauthorized, await OpenStreamAsync("/api/notifications/v1/staff/c-north-2/feed", $"?ticket={ticket}"));
        Assert.Equal(HttpStatusCode.OK, await OpenStreamAsync(NorthFeed, $"?ticket={ticket}", readReady: true));
        Assert.Equal(HttpStatusCode.Unauthorized, await OpenStreamAsync(NorthFeed, $"?ticket={ticket}"));

        // Another counselor cannot get a ticket for this stream; an expired ticket opens nothing.
        using var other = await AsAsync("c-north-2");
        using (var refused = await other.PostAsync($"{NorthFeed}/stream-ticket", null))
        {
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        }
        var stale = await TicketAsync(north, NorthFeed);
        await platform.Notifications.WithDbAsync<NotificationsDbContext, int>(db =>
            db.StreamTickets.ExecuteUpdateAsync(s => s.SetProperty(t => t.ExpiresAtMs, t => t.ExpiresAtMs - 31_000)));
        Assert.Equal(HttpStatusCode.Unauthorized, await OpenStreamAsync(NorthFeed, $"?ticket={stale}"));
    }

    [Fact]
    public async Task No_token_or_ticket_the_test_issued_is_kept_in_the_audit_store_or_any_log_line()
    {
        using var north = await AsAsync("c-north-1");
        using var admin = await AsAsync("admin-1");
        var tokens = new[] { north.DefaultRequestHeaders.Authorization!.Parameter!, admin.DefaultRequestHeaders.Authorization!.Parameter! };
        // A careless client: the token in the query too, and as ?token= and ?code=; all audited reads.
        using (var read = await north.GetAsync($"{NorthFeed}?access_token={tokens[0]}&token={tokens[0]}&code={tokens[0]}"))
        {
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        }
        Assert.Equal(HttpStatusCode.Unauthorized, await OpenStreamAsync(NorthFeed, $"?access_token={tokens[0]}"));
        var ticket = await TicketAsync(north, NorthFeed);
        Assert.Equal(HttpStatusCode.OK, await OpenStreamAsync(NorthFeed, $"?ticket={ticket}", readReady: true));
        using (var audit = await admin.GetAsync("/api/audit/v1/entries?userId=c-north-1"))
        {
            Assert.Equal(HttpStatusCode.OK, audit.StatusCode);
            var text = await audit.Content.ReadAsStringAsync();
            Assert.Contains("/feed/stream-ticket", text);   // who opened the feed is on record...
            Assert.Contains("access_token=[redacted]", text);   // ...and what they sent, minus the credential
        }

        var stored = await platform.Gateway.WithDbAsync<AuditDbContext, string>(async db =>
            JsonSerializer.Serialize(await db.Entries.AsNoTracking().ToListAsync()));
        var logs = platform.Logs.All();
        // The logs are really captured at this level: the request lines with their (redacted) query strings are there.
        Assert.Contains("/feed/stream?ticket=[redacted]", logs);
        foreach (var secret in tokens.Append(ticket))
        {
            Assert.DoesNotContain(secret, stored);
            Assert.DoesNotContain(secret, logs);
            Assert.DoesNotContain(secret.Split('.').Last(), logs);   // not even the signature alone
        }
        Assert.DoesNotMatch(JwtShape(), logs + stored);
    }

    [Theory]
    [InlineData("GET /api/x?access_token=abc123&studentId=s1", "GET /api/x?access_token=[redacted]&studentId=s1")]
    [InlineData("callback?state=1&code=SplxlOBeZQQYbYS6WxSbIA", "callback?state=1&code=[redacted]")]
    [InlineData("feed/stream?ticket=Zm9vYmFy%2Bx", "feed/stream?ticket=[redacted]")]
    [InlineData("Authorization: Bearer abcdefghijklmnop.qrs", "Authorization: Bearer [redacted]")]
    [InlineData("Authorization=Basic dXNlcjpwYXNzd29yZA==", "Authorization=Basic [redacted]")]
    [InlineData("{\"accessToken\":\"opaque-value\",\"expiresIn\":3600}", "{\"accessToken\":\"[redacted]\",\"expiresIn\":3600}")]
    [InlineData("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl seen", "token [redacted] seen")]
    [InlineData("Status code 404 for /api/x?schoolCode=north", "Status code 404 for /api/x?schoolCode=north")]
    public void Credentials_are_masked_wherever_they_appear_in_text_and_nothing_else_is(string text, string expected) =>
        Assert.Equal(expected, Beacon.ServiceDefaults.CredentialRedaction.Redact(text));

    [GeneratedRegex(@"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{10,}")]
    private static partial Regex JwtShape();

    // ---- 2. Webhooks cannot be turned inward ------------------------------------------------------------------

    [Theory]
    [InlineData("http://hooks.example.org/beacon", "https")]
    [InlineData("https://169.254.169.254/latest/meta-data/", "internal address")]
    [InlineData("https://127.0.0.1:8120/api/interventions/v1/cases", "internal address")]
    [InlineData("https://10.96.0.1/", "internal address")]
    [InlineData("https://[::ffff:127.0.0.1]/", "internal address")]
    [InlineData("https://user:pw@hooks.example.org/", "user name")]
    public async Task A_webhook_to_plain_http_or_an_internal_address_cannot_be_saved(string url, string reason)
    {
        using var client = platform.Strict.CreateClientAs(TestTokens.Counselor("sec-hook-c1", "north"));
        using var response = await client.PutAsJsonAsync("/api/notifications/v1/staff/sec-hook-c1/preferences",
            new { webhookUrl = url, webhookSecret = "a-long-shared-secret-for-tests" });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains(reason, problem.GetProperty("errors").GetProperty("webhookUrl")[0].GetString());
    }

    [Fact]
    public async Task Only_an_administrator_sets_a_webhook_for_someone_else()
    {
        var prefs = new { webhookUrl = "https://hooks.example.org/beacon", webhookSecret = "a-long-shared-secret-for-tests" };
        const string path = "/api/notifications/v1/staff/sec-hook-c2/preferences";
        using (var other = platform.Strict.CreateClientAs(TestTokens.Counselor("sec-hook-c3", "north")))
        using (var refused = await other.PutAsJsonAsync(path, prefs))
        {
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        }
        using (var coordinator = platform.Strict.CreateClientAs(TestTokens.Coordinator("sec-hook-co", "north")))
        using (var refused = await coordinator.PutAsJsonAsync(path, prefs))
        {
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        }
        using var admin = platform.Strict.CreateClientAs(TestTokens.Administrator);
        using var saved = await admin.PutAsJsonAsync(path, prefs);
        Assert.Equal(HttpStatusCode.OK, saved.StatusCode);
    }

    private Task SendAsync(string staffId, string url)
    {
        var sender = platform.Notifications.Services.GetServices<IChannelSender>().OfType<WebhookSender>().Single();
        var prefs = new UserPreferences { StaffId = staffId, WebhookUrl = url, WebhookSecret = "a-long-shared-secret-for-tests" };
        var delivery = new Delivery { DeliveryId = Guid.NewGuid(), StaffId = staffId, SourceEventId = Guid.NewGuid(), Channel = "webhook", Kind = "risk-alert", Title = "t", Body = "b" };
        return sender.SendAsync(null, prefs, [delivery], CancellationToken.None);
    }

    [Fact]
    public async Task A_webhook_whose_name_resolves_to_an_internal_address_is_refused_at_connect_time_and_an_allow_listed_one_is_delivered()
    {
        var before = platform.Receiver.Hooks.Count;
        // "localhost" passes the save-time check (it is a name), resolves to loopback and is not allow-listed.
        var refused = await Assert.ThrowsAsync<PermanentDeliveryException>(() => SendAsync("sec-hook-c4", $"http://localhost:{platform.Receiver.Port}/hook"));
        Assert.Contains("internal addresses are refused", refused.Message);
        Assert.Equal(before, platform.Receiver.Hooks.Count);

        // The same receiver at the address an administrator allow-listed.
        await SendAsync("sec-hook-c4", $"http://127.0.0.1:{platform.Receiver.Port}/hook");
        Assert.Equal(before + 1, platform.Receiver.Hooks.Count);
        Assert.Contains("sec-hook-c4", platform.Receiver.Hooks.Last());
    }

    [Fact]
    public async Task A_webhook_redirect_is_not_followed_and_a_huge_answer_is_not_read()
    {
        var before = platform.Receiver.Hooks.Count;
        var redirected = await Assert.ThrowsAsync<HttpRequestException>(() => SendAsync("sec-hook-c5", $"http://127.0.0.1:{platform.Receiver.Port}/redirect"));
        Assert.Contains("answered 307", redirected.Message);
        Assert.Equal(before, platform.Receiver.Hooks.Count);

        var huge = await Assert.ThrowsAsync<HttpRequestException>(() => SendAsync("sec-hook-c6", $"http://127.0.0.1:{platform.Huge.Port}/huge"));
        Assert.Contains("answered 500", huge.Message);
        Assert.True(huge.Message.Length < 400, huge.Message);
        await Task.Delay(500);   // let the server notice the hang-up
        // Two tries (one in-call retry): each takes the 4 KiB excerpt, plus what the kernel buffered, then hangs up.
        Assert.True(platform.Huge.BytesSent < HugeAnswerServer.HugeBytes / 4, $"{platform.Huge.BytesSent:N0} bytes of a 64 MiB answer were taken");
    }

    [Fact]
    public async Task Webhook_calls_are_limited_per_recipient()
    {
        var url = $"http://127.0.0.1:{platform.Receiver.Port}/hook";
        for (var i = 0; i < SecurityPlatform.PerUserPerMinute; i++)
        {
            await SendAsync("sec-hook-busy", url);
        }
        var limited = await Assert.ThrowsAsync<HttpRequestException>(() => SendAsync("sec-hook-busy", url));
        Assert.Contains("webhook calls a minute", limited.Message);
        await SendAsync("sec-hook-quiet", url);   // someone else's allowance is their own
    }

    // ---- 4. Browser defences --------------------------------------------------------------------------------

    [Fact]
    public async Task The_dashboard_is_served_with_a_strict_content_security_policy_and_browser_headers()
    {
        using var client = platform.Gateway.CreateClientAs(null);
        using var page = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var csp = page.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("script-src 'self';", csp);
        Assert.Contains("style-src 'self';", csp);
        Assert.Contains("connect-src 'self';", csp);
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.DoesNotContain("unsafe", csp);
        Assert.Equal("no-referrer", page.Headers.GetValues("Referrer-Policy").Single());
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());
        Assert.False(page.Headers.Contains("Strict-Transport-Security"));   // plain http: HSTS means nothing there

        using var tls = new HttpRequestMessage(HttpMethod.Get, "/");
        tls.Headers.Add("X-Forwarded-Proto", "https");
        using var behindTls = await client.SendAsync(tls);
        Assert.StartsWith("max-age=", behindTls.Headers.GetValues("Strict-Transport-Security").Single());

        // Proxied API answers carry them too.
        using var api = await client.GetAsync(NorthFeed);
        Assert.Equal("default-src 'none'; frame-ancestors 'none'", api.Headers.GetValues("Content-Security-Policy").Single());
    }

    [Fact]
    public async Task The_dashboard_has_nothing_the_policy_would_block()
    {
        using var client = platform.Gateway.CreateClientAs(null);
        var html = await client.GetStringAsync("/");
        Assert.DoesNotMatch(@"<script(?![^>]*\ssrc=)[^>]*>", html);   // every script is a file
        Assert.DoesNotMatch(@"<style|\sstyle=|\son[a-z]+=|javascript:", html);
        var root = Path.Combine(TestEnvironment.RepositoryRoot(), "gateway", "wwwroot", "js");
        foreach (var file in Directory.EnumerateFiles(root, "*.js", SearchOption.AllDirectories))
        {
            var code = await File.ReadAllTextAsync(file);
            Assert.DoesNotMatch(@"setAttribute\(\s*'style'|\.innerHTML\s*=|insertAdjacentHTML|\beval\(|new Function\(|access_token", code);
            using var served = await client.GetAsync("/js/" + Path.GetRelativePath(root, file).Replace('\\', '/'));
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        }
    }

    // ---- 5. The probes that already passed ------------------------------------------------------------------

    private static string AlgNone(string subject, string role)
    {
        static string Part(object o) => Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(o)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return $"{Part(new { alg = "none", typ = "JWT" })}.{Part(new { sub = subject, role, iss = TestTokens.Issuer, aud = TestTokens.Audience, nbf = now, iat = now, exp = now + 3600 })}.";
    }

    [Theory]
    [InlineData("forged")]
    [InlineData("alg-none")]
    [InlineData("none")]
    public async Task A_forged_or_unsigned_token_or_none_is_refused_at_the_gateway_and_at_each_services_own_port(string who)
    {
        var token = who == "alg-none" ? AlgNone("test-admin", "administrator") : Callers.Token(who);
        using (var gateway = platform.Gateway.CreateClientAs(token))
        using (var refused = await gateway.GetAsync("/api/interventions/v1/cases"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }
        foreach (var (port, path) in new[] { (platform.NotificationsPort, "api/notifications/v1/dead-letters"), (platform.InterventionsPort, "api/interventions/v1/cases") })
        {
            using var direct = new HttpClient { BaseAddress = port };
            direct.DefaultRequestHeaders.Authorization = token is null ? null : new AuthenticationHeaderValue("Bearer", token);
            using var refused = await direct.GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }
    }

    [Fact]
    public async Task Another_schools_case_is_404_and_a_role_without_the_right_is_403()
    {
        using var admin = await AsAsync("admin-1");
        using var created = await admin.PostAsJsonAsync("/api/interventions/v1/cases",
            new { studentId = "sec-probe-s1", schoolId = "north", reason = "Confidential: family situation", openedBy = "admin-1" });
        Assert.True(created.IsSuccessStatusCode, $"{created.StatusCode}: {await created.Content.ReadAsStringAsync()}");
        var caseId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("caseId").GetString();

        using var south = await AsAsync("c-south-1");
        using (var hidden = await south.GetAsync($"/api/interventions/v1/cases/{caseId}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
            Assert.DoesNotContain("family situation", await hidden.Content.ReadAsStringAsync());
        }
        using var north = await AsAsync("c-north-1");
        using (var own = await north.GetAsync($"/api/interventions/v1/cases/{caseId}"))
        {
            Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        }
        using (var audit = await north.GetAsync("/api/audit/v1/entries"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, audit.StatusCode);
        }
        using var deadLetters = await north.GetAsync("/api/notifications/v1/dead-letters");
        Assert.Equal(HttpStatusCode.Forbidden, deadLetters.StatusCode);
    }
}
