using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Beacon.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Beacon.Dashboard.Tests;

/// <summary>
/// Staff sign-in with a real OpenID Connect provider (<see cref="TestOidcProvider"/>, OpenIddict) in a real browser,
/// against the whole platform started by ./beacon up with that provider as Auth:Authority: the gateway signs the user
/// in (code flow + PKCE, session cookie), the services validate the provider's access token it forwards and map its
/// Keycloak-style role and school claims; the token is renewed before it expires; sign-out ends the session at the
/// provider and revokes the refresh token; an expired or tampered token and a tampered cookie are refused.
/// The provider's access tokens live 20 s and the gateway renews them 10 s before expiry, so the test sees renewals.
/// </summary>
public sealed class OidcSignInTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan AccessTokenLifetime = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan RefreshBefore = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30); // what every Beacon process allows
    private static readonly float Wait = 30_000;

    private TestOidcProvider? _provider;
    private BeaconUp? _platform;
    private IPlaywright? _playwright;
    private IBrowser? _browser;
    private Uri _gateway = null!;
    private readonly List<string> _policyViolations = [];
    private readonly string _screenshots = Path.Combine(AppContext.BaseDirectory, "screenshots");

    public async Task InitializeAsync()
    {
        if (BrowserFixture.Unavailable is not null)
        {
            return;
        }
        Directory.CreateDirectory(_screenshots);
        var port = Ports.FreePlatformBase(200, 400);
        _gateway = new Uri($"http://127.0.0.1:{port}");
        _provider = await TestOidcProvider.StartAsync(_gateway, AccessTokenLifetime);
        var starting = BeaconUp.StartAsync(TimeSpan.FromMinutes(4), demo: false, "oidc", port, _provider.PlatformSettings(RefreshBefore));
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = BrowserFixture.ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        _platform = await starting;
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }
        _playwright?.Dispose();
        if (_platform is not null)
        {
            await _platform.DisposeAsync();
        }
        if (_provider is not null)
        {
            await _provider.DisposeAsync();
        }
    }

    [SkippableFact]
    public async Task A_counselor_signs_in_with_the_district_provider_works_through_token_renewals_and_signs_out_at_the_provider()
    {
        Skip.If(BrowserFixture.Unavailable is not null, BrowserFixture.Unavailable);
        var context = await _browser!.NewContextAsync(new() { BaseURL = _gateway.ToString() });
        var page = await context.NewPageAsync();
        page.Console += (_, m) =>
        {
            if (m.Text.Contains("Content Security Policy", StringComparison.Ordinal))
            {
                _policyViolations.Add(m.Text);
            }
        };

        try
        {
            await SignInUsePageRenewSignOutAsync(context, page);
        }
        catch
        {
            // The page as it was, and what the platform said, for the failure.
            await Shot(page, "oidc-failure");
            output.WriteLine($"page: {page.Url}\n{_platform?.Logs()}");
            throw;
        }
    }

    private async Task SignInUsePageRenewSignOutAsync(IBrowserContext context, IPage page)
    {
        // Sign in: the dashboard's button, the provider's own form, back to the counselor's page. The first sign-in also
        // makes the gateway fetch the provider's discovery document: a longer wait for that navigation.
        await page.GotoAsync("/");
        await page.GetByRole(AriaRole.Link, new() { Name = "Sign in with your district account" }).ClickAsync(new() { Timeout = 3 * Wait });
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "District sign-in" })).ToBeVisibleAsync(new() { Timeout = 3 * Wait });
        Assert.StartsWith(_provider!.Issuer.ToString(), page.Url, StringComparison.Ordinal);
        await Shot(page, "oidc-provider-login");
        await page.GetByLabel("User name").FillAsync(TestOidcProvider.Counselor.Id);
        await page.GetByLabel("Password").FillAsync(TestOidcProvider.Counselor.Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Updates for me" })).ToBeVisibleAsync(new() { Timeout = Wait });
        Assert.StartsWith(_gateway.ToString(), page.Url, StringComparison.Ordinal);
        // Roles and schools came from realm_access.roles and school_ids ("Counselor" lower-cased).
        await Expect(page.Locator("#who")).ToContainTextAsync("Ada North (counselor)");
        await Shot(page, "oidc-counselor");

        // The session is a cookie page script cannot read; nothing of the token is in the page's storage.
        var cookie = (await context.CookiesAsync()).Single(c => c.Name == "beacon-session");
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.Equal("null", await page.EvaluateAsync<string>("() => JSON.stringify(sessionStorage.getItem('beacon.session'))"));

        // Use a page: its calls reach the services with the forwarded provider token, and nothing on it failed.
        await Expect(page.Locator("#caseload")).ToBeVisibleAsync(new() { Timeout = Wait });
        await Expect(page.Locator(".message.error")).ToHaveCountAsync(0);
        var api = context.APIRequest;
        Assert.Equal(200, (await api.GetAsync("/api/mastery/v1/schools/north/overview")).Status);
        Assert.NotEqual(200, (await api.GetAsync("/api/mastery/v1/schools/south/overview")).Status); // Mastery read school_ids
        Assert.Equal(403, (await api.GetAsync("/api/early-warning/v1/monitoring/report")).Status);     // not ops
        var forged = await api.PostAsync("/api/interventions/v1/cases/none/notes", new() { DataObject = new { text = "x" } });
        Assert.Equal(403, forged.Status); // a cookie-borne write without the page's header (what another site's form sends)
        Assert.Contains("X-Beacon-Request", await forged.TextAsync(), StringComparison.Ordinal);

        // Renewal: past expiry minus RefreshBefore, the next request renews the access token with the refresh token.
        var first = _provider.TokenResponses.Single(t => t.GrantType == "authorization_code");
        var firstExpiry = Expiry(first.AccessToken!);
        // (On a slow machine the page's first calls may already have renewed it: the session is never behind the first token.)
        var sessionExpiry = DateTimeOffset.Parse((await SessionAsync(api)).GetProperty("accessTokenExpiresAt").GetString()!);
        Assert.True(sessionExpiry >= firstExpiry - TimeSpan.FromSeconds(2));
        // The gateway renews by its own expiry time (the token response's expires_in from when it arrived), which on a
        // loaded machine is up to a second or two after the token's exp (whole seconds): wait by the session's.
        await Until(sessionExpiry - RefreshBefore + TimeSpan.FromSeconds(1));
        // A request of the session (with the browser's cookie) past that point renews it before answering.
        var renewedExpiry = DateTimeOffset.Parse((await SessionAsync(api)).GetProperty("accessTokenExpiresAt").GetString()!);
        Assert.Contains(_provider.TokenResponses, t => t.GrantType == "refresh_token");
        Assert.True(renewedExpiry > firstExpiry, $"the session's access token was not renewed ({renewedExpiry:o} <= {firstExpiry:o})");
        await page.GetByRole(AriaRole.Link, new() { Name = "Mastery" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Mastery", Exact = false }).First).ToBeVisibleAsync(new() { Timeout = Wait });
        await Expect(page.Locator(".message.error")).ToHaveCountAsync(0);
        await Shot(page, "oidc-after-renewal");

        // Expired: the first access token, past its expiry and the allowed clock skew, is refused; the session goes on.
        await Until(firstExpiry + ClockSkew + TimeSpan.FromSeconds(1));
        using var http = new HttpClient { BaseAddress = _gateway };
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetWithToken(http, "/api/interventions/v1/cases?status=open", first.AccessToken!)).StatusCode);
        await page.GetByRole(AriaRole.Link, new() { Name = "My students" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Updates for me" })).ToBeVisibleAsync(new() { Timeout = Wait });
        await Expect(page.Locator(".message.error")).ToHaveCountAsync(0);
        Assert.Equal(200, (await api.GetAsync("/api/interventions/v1/cases?status=open")).Status);

        // Tampered: the newest token, valid as issued, with its payload changed to another school; and a changed cookie.
        var latest = _provider.TokenResponses.Last(t => t.AccessToken is not null).AccessToken!;
        Assert.Equal(HttpStatusCode.OK, (await GetWithToken(http, "/api/mastery/v1/schools/north/overview", latest)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetWithToken(http, "/api/mastery/v1/schools/south/overview", WithSchool(latest, "south"))).StatusCode);
        var tamperedContext = await _browser!.NewContextAsync(new() { BaseURL = _gateway.ToString() });
        var current = (await context.CookiesAsync()).Single(c => c.Name == "beacon-session");
        await tamperedContext.AddCookiesAsync([new Microsoft.Playwright.Cookie { Name = current.Name, Value = Flip(current.Value), Domain = current.Domain, Path = current.Path }]);
        Assert.Equal(401, (await tamperedContext.APIRequest.GetAsync("/auth/session")).Status);
        Assert.Equal(401, (await tamperedContext.APIRequest.GetAsync("/api/interventions/v1/cases?status=open")).Status);
        await tamperedContext.CloseAsync();

        // A copy of the session cookie (what a stolen cookie is) works until sign-out, and not a moment after it: the
        // session is kept by the gateway, and signing out deletes it.
        var copiedContext = await _browser!.NewContextAsync(new() { BaseURL = _gateway.ToString() });
        var copied = (await context.CookiesAsync()).Single(c => c.Name == "beacon-session");
        await copiedContext.AddCookiesAsync([new Microsoft.Playwright.Cookie { Name = copied.Name, Value = copied.Value, Domain = copied.Domain, Path = copied.Path }]);
        Assert.Equal(200, (await copiedContext.APIRequest.GetAsync("/auth/session")).Status);

        // Sign out: at the provider too (its end-session endpoint), the refresh token revoked, back to the sign-in page.
        var refreshToken = _provider.TokenResponses.Last(t => t.RefreshToken is not null).RefreshToken!;
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        // The browser visits the provider's end-session endpoint, which sends it back through /auth/signed-out to "/".
        Assert.Equal(1, await Eventually.WaitAsync(() => Task.FromResult(_provider.EndSessions), n => n > 0, TimeSpan.FromSeconds(30)));
        // Waited for until the navigation commits, not for its load event: on a loaded machine the redirect chain's load once
        // never came within the wait (a fresh-clone run), while the page was already back; the sign-in link below is the check.
        await page.WaitForURLAsync(url => url.StartsWith(_gateway.ToString(), StringComparison.Ordinal) && !url.Contains("/auth/", StringComparison.Ordinal),
            new() { Timeout = Wait, WaitUntil = WaitUntilState.Commit });
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Sign in with your district account" })).ToBeVisibleAsync(new() { Timeout = Wait });
        Assert.Equal(401, (await api.GetAsync("/auth/session")).Status);
        Assert.Equal(401, (await api.GetAsync("/api/interventions/v1/cases?status=open")).Status);
        Assert.Equal(401, (await copiedContext.APIRequest.GetAsync("/auth/session")).Status);
        Assert.Equal(401, (await copiedContext.APIRequest.GetAsync("/api/interventions/v1/cases?status=open")).Status);
        await copiedContext.CloseAsync();
        // Every refresh token the provider issued to this session is dead, the newest included (whatever the order in
        // which renewed responses reached the browser).
        using var refresh = await http.PostAsync(new Uri(_provider.Issuer, "connect/token"), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token",
            ["refresh_token"] = refreshToken,
            ["client_id"] = TestOidcProvider.ClientId,
            ["client_secret"] = _provider.ClientSecret,
        }));
        Assert.Equal(HttpStatusCode.BadRequest, refresh.StatusCode);
        await Shot(page, "oidc-signed-out");
        // The provider's own session ended: signing in again asks for the password.
        await page.GetByRole(AriaRole.Link, new() { Name = "Sign in with your district account" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "District sign-in" })).ToBeVisibleAsync(new() { Timeout = Wait });
        Assert.Empty(_policyViolations);
    }

    private static async Task<JsonElement> SessionAsync(IAPIRequestContext api)
    {
        var response = await api.GetAsync("/auth/session");
        Assert.Equal(200, response.Status);
        return (await response.JsonAsync())!.Value;
    }

    private static Task<HttpResponseMessage> GetWithToken(HttpClient http, string path, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http.SendAsync(request);
    }

    private static DateTimeOffset Expiry(string jwt) => new(new JsonWebToken(jwt).ValidTo, TimeSpan.Zero);

    private static async Task Until(DateTimeOffset moment)
    {
        var left = moment - DateTimeOffset.UtcNow;
        if (left > TimeSpan.Zero)
        {
            await Task.Delay(left);
        }
    }

    /// <summary>The same header and signature over a payload that now names another school.</summary>
    private static string WithSchool(string jwt, string school)
    {
        var parts = jwt.Split('.');
        var payload = JsonNode.Parse(Base64UrlDecode(parts[1]))!;
        payload["school_ids"] = school;
        parts[1] = Convert.ToBase64String(Encoding.UTF8.GetBytes(payload.ToJsonString())).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return string.Join('.', parts);
    }

    private static string Base64UrlDecode(string s)
    {
        s = s.Replace('-', '+').Replace('_', '/');
        return Encoding.UTF8.GetString(Convert.FromBase64String(s.PadRight(s.Length + (4 - s.Length % 4) % 4, '=')));
    }

    private static string Flip(string value)
    {
        var i = value.Length / 2;
        return value[..i] + (value[i] == 'A' ? 'B' : 'A') + value[(i + 1)..];
    }

    private async Task Shot(IPage page, string name)
    {
        var path = Path.Combine(_screenshots, $"{name}.png");
        await page.ScreenshotAsync(new() { Path = path, FullPage = true });
        output.WriteLine($"screenshot: {path}");
    }

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);
}
