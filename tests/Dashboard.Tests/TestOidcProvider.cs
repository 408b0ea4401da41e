using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net;
using System.Security.Claims;
using System.Text.Json.Nodes;
using Beacon.Testing;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Beacon.Dashboard.Tests;

/// <summary>
/// A real OpenID Connect provider (OpenIddict's server, with its Entity Framework stores on an in-memory SQLite
/// database) run inside the test: a login form, the authorization code flow with PKCE, refresh tokens, revocation and
/// end-session. Its tokens name roles and schools the way a Keycloak realm does (<c>realm_access.roles</c>, and a
/// <c>school_ids</c> user attribute), not Beacon's way, so the gateway's and services' claim mapping is exercised.
/// </summary>
public sealed class TestOidcProvider : IAsyncDisposable
{
    public const string ClientId = "beacon-gateway";
    public const string LoginScheme = "provider-login";

    public sealed record User(string Id, string Password, string Name, string[] Roles, string[] Schools);

    public static readonly User Counselor = new("ada.north", "north-pw", "Ada North", ["Counselor"], ["north"]);
    public static readonly User Ops = new("omar.ops", "ops-pw", "Omar Ops", ["ops"], []);
    private static readonly User[] Users = [Counselor, Ops];

    private readonly WebApplication _app;
    private readonly SqliteConnection _database;

    public Uri Issuer { get; }
    public string ClientSecret { get; } = Convert.ToBase64String(Guid.NewGuid().ToByteArray());
    /// <summary>Every token response, in order (the test reads the access tokens the gateway was given).</summary>
    public ConcurrentQueue<(string GrantType, string? AccessToken, string? RefreshToken)> TokenResponses { get; } = new();
    public int EndSessions => _endSessions;
    private int _endSessions;

    private TestOidcProvider(WebApplication app, SqliteConnection database, Uri issuer)
    {
        _app = app;
        _database = database;
        Issuer = issuer;
    }

    public static async Task<TestOidcProvider> StartAsync(Uri gateway, TimeSpan accessTokenLifetime)
    {
        var port = Enumerable.Range(0, 50).Select(_ => Random.Shared.Next(30000, 39999)).First(Ports.IsFree);
        var issuer = new Uri($"http://127.0.0.1:{port}/");
        var database = new SqliteConnection("Data Source=:memory:");
        await database.OpenAsync();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = TestEnvironment.NewTempDirectory("oidc-provider") });
        // Nothing from the test's folder (the services' appsettings.json name Kestrel endpoints): only this address.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();
        builder.WebHost.UseUrls(issuer.ToString());
        builder.Logging.ClearProviders();
        builder.Services.AddDbContext<DbContext>(o => o.UseSqlite(database).UseOpenIddict());
        builder.Services.AddAuthentication(LoginScheme).AddCookie(LoginScheme, o =>
        {
            o.LoginPath = "/account/login";
            o.Cookie.Name = "provider-login";
        });
        TestOidcProvider? provider = null;
        builder.Services.AddOpenIddict()
            .AddCore(o => o.UseEntityFrameworkCore().UseDbContext<DbContext>())
            .AddServer(o =>
            {
                o.SetIssuer(issuer);
                o.SetAuthorizationEndpointUris("connect/authorize").SetTokenEndpointUris("connect/token")
                    .SetEndSessionEndpointUris("connect/endsession").SetRevocationEndpointUris("connect/revoke");
                o.AllowAuthorizationCodeFlow().AllowRefreshTokenFlow().RequireProofKeyForCodeExchange();
                o.RegisterScopes(Scopes.OpenId, Scopes.Profile, Scopes.OfflineAccess);
                // JWT access tokens the services validate with the provider's published keys.
                o.AddEphemeralEncryptionKey().AddEphemeralSigningKey().DisableAccessTokenEncryption();
                o.SetAccessTokenLifetime(accessTokenLifetime);
                o.UseAspNetCore().EnableAuthorizationEndpointPassthrough().EnableEndSessionEndpointPassthrough().DisableTransportSecurityRequirement();
                o.AddEventHandler<OpenIddictServerEvents.ApplyTokenResponseContext>(b => b.UseInlineHandler(context =>
                {
                    provider?.TokenResponses.Enqueue((context.Request?.GrantType ?? "", context.Response.AccessToken, context.Response.RefreshToken));
                    return default;
                }));
            });
        var app = builder.Build();
        provider = new TestOidcProvider(app, database, issuer);
        app.UseAuthentication();
        app.MapGet("/account/login", (string? returnUrl) => Results.Content(LoginPage(returnUrl ?? "/", error: null), "text/html"));
        app.MapPost("/account/login", async (HttpContext http) =>
        {
            var form = await http.Request.ReadFormAsync();
            var returnUrl = form["returnUrl"].ToString();
            var user = Users.FirstOrDefault(u => u.Id == form["username"] && u.Password == form["password"]);
            if (user is null)
            {
                return Results.Content(LoginPage(returnUrl, "Wrong user name or password."), "text/html", statusCode: 200);
            }
            await http.SignInAsync(LoginScheme, new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, user.Id)], LoginScheme)));
            return Results.Redirect(returnUrl.StartsWith('/') ? returnUrl : "/");
        });
        app.MapMethods("/connect/authorize", ["GET", "POST"], async (HttpContext http) =>
        {
            var request = http.GetOpenIddictServerRequest()!;
            var login = await http.AuthenticateAsync(LoginScheme);
            if (!login.Succeeded)
            {
                return Results.Challenge(new AuthenticationProperties { RedirectUri = http.Request.Path + http.Request.QueryString }, [LoginScheme]);
            }
            var user = Users.Single(u => u.Id == login.Principal!.Identity!.Name);
            var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, Claims.Name, Claims.Role);
            identity.SetClaim(Claims.Subject, user.Id).SetClaim(Claims.Name, user.Name)
                .SetClaim("realm_access", new JsonObject { ["roles"] = new JsonArray(user.Roles.Select(r => (JsonNode)r!).ToArray()) })
                .SetClaims("school_ids", [.. user.Schools]);
            identity.SetScopes(request.GetScopes());
            identity.SetResources("beacon");
            identity.SetDestinations(_ => [Destinations.AccessToken, Destinations.IdentityToken]);
            return Results.SignIn(new ClaimsPrincipal(identity), null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        });
        app.MapMethods("/connect/endsession", ["GET", "POST"], async (HttpContext http) =>
        {
            Interlocked.Increment(ref provider._endSessions);
            await http.SignOutAsync(LoginScheme);
            // Back to the client's registered post-logout address (the gateway's /auth/signed-out).
            return Results.SignOut(new AuthenticationProperties { RedirectUri = "/" }, [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
        });
        await using (var scope = app.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<DbContext>().Database.EnsureCreatedAsync();
            await scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>().CreateAsync(new OpenIddictApplicationDescriptor
            {
                ClientId = ClientId,
                ClientSecret = provider.ClientSecret,
                ClientType = ClientTypes.Confidential,
                RedirectUris = { new Uri(gateway, "/auth/callback") },
                PostLogoutRedirectUris = { new Uri(gateway, "/auth/signed-out") },
                Permissions =
                {
                    Permissions.Endpoints.Authorization, Permissions.Endpoints.Token, Permissions.Endpoints.EndSession,
                    Permissions.Endpoints.Revocation, Permissions.GrantTypes.AuthorizationCode, Permissions.GrantTypes.RefreshToken,
                    Permissions.ResponseTypes.Code, Permissions.Scopes.Profile,
                },
                Requirements = { Requirements.Features.ProofKeyForCodeExchange },
            });
        }
        await app.StartAsync();
        // The first discovery answer takes seconds on a loaded machine (key generation, JIT): pay it here, not in a
        // browser navigation with a timeout.
        using var warm = new HttpClient { Timeout = TimeSpan.FromMinutes(1) };
        (await warm.GetAsync(new Uri(issuer, ".well-known/openid-configuration"))).EnsureSuccessStatusCode();
        (await warm.GetAsync(new Uri(issuer, ".well-known/jwks"))).EnsureSuccessStatusCode();
        return provider;
    }

    /// <summary>The settings every Beacon process gets to trust this provider (Keycloak-style claim names).</summary>
    public Dictionary<string, string> PlatformSettings(TimeSpan refreshBefore) => new()
    {
        ["Auth__Authority"] = Issuer.ToString(),
        ["Auth__RequireHttpsMetadata"] = "false",
        ["Auth__Claims__Role"] = "realm_access.roles",
        ["Auth__Claims__School"] = "school_ids",
        ["Auth__Oidc__ClientId"] = ClientId,
        ["Auth__Oidc__ClientSecret"] = ClientSecret,
        ["Auth__Oidc__SecureCookie"] = "false",
        ["Auth__Oidc__RefreshBefore"] = refreshBefore.ToString("c"),
    };

    private static string LoginPage(string returnUrl, string? error) => $"""
        <!doctype html><html lang="en"><head><title>District sign-in</title></head><body>
        <h1>District sign-in</h1>{(error is null ? "" : $"<p role=\"alert\">{WebUtility.HtmlEncode(error)}</p>")}
        <form method="post" action="/account/login">
          <input type="hidden" name="returnUrl" value="{WebUtility.HtmlEncode(returnUrl)}">
          <label>User name <input name="username" autocomplete="username"></label>
          <label>Password <input name="password" type="password" autocomplete="current-password"></label>
          <button type="submit">Sign in</button>
        </form></body></html>
        """;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _database.DisposeAsync();
    }
}
