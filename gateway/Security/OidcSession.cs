using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text.Json;
using Beacon.ServiceDefaults;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Beacon.Gateway.Security;

/// <summary>The gateway as the dashboard's OpenID Connect client (section <c>Auth:Oidc</c>; on when <c>ClientId</c> is set).</summary>
public sealed class OidcSessionOptions
{
    public string? ClientId { get; set; }
    public string? ClientSecret { get; set; }
    public string Scopes { get; set; } = "openid profile offline_access";
    /// <summary>The access token is renewed with the refresh token when it has less than this left.</summary>
    public TimeSpan RefreshBefore { get; set; } = TimeSpan.FromMinutes(1);
    /// <summary>A session ends after this however often it was refreshed (a working day).</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(10);
    /// <summary>The cookie's Secure flag and __Host- name. Off only for a plain-http local or test run.</summary>
    public bool SecureCookie { get; set; } = true;

    public bool Enabled => !string.IsNullOrWhiteSpace(ClientId);
}

/// <summary>
/// Staff sign-in as a backend-for-frontend: the gateway runs the authorization code flow with PKCE as a confidential
/// client, keeps the provider's tokens inside an encrypted, HttpOnly, SameSite=Strict session cookie that page script
/// cannot read, renews the access token with the refresh token before it expires, signs out at the provider, and puts
/// the access token on each request it proxies, so the services validate the provider's own token as before.
/// Why not PKCE in the page: a token in the page is one injected script away from leaving it, and a refresh token
/// there lives for days (see gateway/README.md). A bearer token in the Authorization header (feeds, scripts, the
/// development issuer) still works and takes precedence over the cookie.
/// </summary>
public static class OidcSession
{
    public const string Scheme = "gateway";
    public const string SessionScheme = "session";
    public const string OidcScheme = "oidc";
    /// <summary>Unsafe requests carried by the session cookie must name this header (a form on another site cannot).</summary>
    public const string CsrfHeader = "X-Beacon-Request";

    public static IHostApplicationBuilder AddOidcSession(this IHostApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection("Auth:Oidc");
        builder.Services.Configure<OidcSessionOptions>(section);
        var oidc = section.Get<OidcSessionOptions>() ?? new OidcSessionOptions();
        if (!oidc.Enabled)
        {
            return builder;
        }
        var auth = builder.Configuration.GetSection("Auth").Get<AuthOptions>() ?? new AuthOptions();
        if (string.IsNullOrWhiteSpace(auth.Authority) || string.IsNullOrWhiteSpace(oidc.ClientSecret))
        {
            throw new InvalidOperationException("Auth:Oidc:ClientId is set: staff sign-in also needs Auth:Authority and Auth:Oidc:ClientSecret.");
        }
        // Every gateway replica must read every other's cookies: the key ring is kept in the gateway's database.
        builder.Services.AddDataProtection().SetApplicationName("beacon-gateway").PersistKeysToDbContext<AuditDbContext>();
        builder.Services.AddSingleton<IProviderTokens, ProviderTokens>();
        builder.Services.AddSingleton<StaffSessionStore>();
        builder.Services.AddSingleton<TokenRefresher>();
        builder.Services.AddOptions<CookieAuthenticationOptions>(SessionScheme).Configure<StaffSessionStore>((cookie, store) => cookie.SessionStore = store);
        builder.Services.AddSingleton<ITransformProvider, SessionTokenTransform>();
        builder.Services.Configure<AuthenticationOptions>(o =>
        {
            o.DefaultScheme = Scheme;
            o.DefaultChallengeScheme = Scheme;
            o.DefaultForbidScheme = Scheme;
        });
        builder.Services.AddAuthentication()
            // A bearer token wins; otherwise the session cookie. Either way a refusal is a 401/403, never a redirect.
            .AddPolicyScheme(Scheme, "Bearer token or staff session", p => p.ForwardDefaultSelector = http =>
                http.Request.Headers.Authorization.Count > 0 || !http.Request.Cookies.ContainsKey(CookieName(oidc))
                    ? JwtBearerDefaults.AuthenticationScheme
                    : SessionScheme)
            .AddCookie(SessionScheme, cookie =>
            {
                cookie.Cookie.Name = CookieName(oidc);
                cookie.Cookie.HttpOnly = true;
                cookie.Cookie.SameSite = SameSiteMode.Strict;
                cookie.Cookie.SecurePolicy = oidc.SecureCookie ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
                cookie.Cookie.Path = "/";
                cookie.ExpireTimeSpan = oidc.SessionLifetime;
                cookie.SlidingExpiration = false;
                cookie.Events.OnRedirectToLogin = c => Status(c.Response, StatusCodes.Status401Unauthorized);
                cookie.Events.OnRedirectToAccessDenied = c => Status(c.Response, StatusCodes.Status403Forbidden);
                cookie.Events.OnValidatePrincipal = c => c.HttpContext.RequestServices.GetRequiredService<TokenRefresher>().ValidateAsync(c);
            })
            .AddOpenIdConnect(OidcScheme, o =>
            {
                o.Authority = auth.Authority;
                o.RequireHttpsMetadata = auth.RequireHttpsMetadata;
                o.ClientId = oidc.ClientId;
                o.ClientSecret = oidc.ClientSecret;
                o.ResponseType = "code";
                o.UsePkce = true;
                o.Scope.Clear();
                foreach (var scope in oidc.Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    o.Scope.Add(scope);
                }
                o.SaveTokens = true;
                o.MapInboundClaims = false;
                o.SignInScheme = SessionScheme;
                o.SignOutScheme = SessionScheme;
                o.CallbackPath = "/auth/callback";
                o.SignedOutCallbackPath = "/auth/signed-out";
                o.SignedOutRedirectUri = "/";
                if (!oidc.SecureCookie)
                {
                    // Plain http (local or test run): cookies without Secure, and SameSite=None needs Secure.
                    o.CorrelationCookie.SecurePolicy = o.NonceCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                    o.CorrelationCookie.SameSite = o.NonceCookie.SameSite = SameSiteMode.Lax;
                }
                o.TokenValidationParameters.NameClaimType = BeaconClaims.Name;
                o.TokenValidationParameters.RoleClaimType = BeaconClaims.Role;
                o.Events.OnTokenValidated = c =>
                {
                    c.Principal = SessionPrincipal(c.Principal!, c.TokenEndpointResponse?.AccessToken, auth.Claims);
                    return Task.CompletedTask;
                };
                // The dashboard signs out with fetch: hand it the provider's end-session URL to navigate to.
                o.Events.OnRedirectToIdentityProviderForSignOut = c =>
                {
                    // The handler adds its state only after this event: add it here, or /auth/signed-out cannot send the
                    // browser on to the page (the state carries the redirect).
                    c.ProtocolMessage.State = c.Options.StateDataFormat.Protect(c.Properties);
                    c.HttpContext.Items[EndSessionUrl] = c.ProtocolMessage.CreateLogoutRequestUrl();
                    c.HandleResponse();
                    return Task.CompletedTask;
                };
            });
        return builder;
    }

    private const string EndSessionUrl = "beacon.end-session-url";

    private static string CookieName(OidcSessionOptions o) => o.SecureCookie ? "__Host-beacon-session" : "beacon-session";

    private static Task Status(HttpResponse response, int status)
    {
        response.StatusCode = status;
        return Task.CompletedTask;
    }

    /// <summary>
    /// The session keeps only what Beacon reads: subject, name, roles, schools (from the ID token and, when it is a JWT,
    /// the access token: Keycloak puts realm roles only there). The access token came straight from the token endpoint.
    /// </summary>
    internal static ClaimsPrincipal SessionPrincipal(ClaimsPrincipal fromIdToken, string? accessToken, ClaimNames names)
    {
        var source = new ClaimsIdentity(fromIdToken.Claims);
        var handler = new JsonWebTokenHandler();
        if (accessToken is not null && handler.CanReadToken(accessToken))
        {
            source.AddClaims(handler.ReadJsonWebToken(accessToken).Claims);
        }
        ProviderClaims.Apply(source, names);
        var kept = source.Claims.Where(c => c.Type is BeaconClaims.Subject or BeaconClaims.Name or BeaconClaims.Role or BeaconClaims.School or "sid")
            .Select(c => new Claim(c.Type, c.Value)).DistinctBy(c => (c.Type, c.Value));
        return new ClaimsPrincipal(new ClaimsIdentity(kept, SessionScheme, BeaconClaims.Name, BeaconClaims.Role));
    }

    /// <summary>
    /// Behind the Ingress, which terminates TLS, the gateway sees plain http: with staff sign-in on it takes the scheme
    /// from X-Forwarded-Proto, so the redirect URI it sends the provider is the https one registered there. Only the
    /// Ingress reaches the gateway (NetworkPolicy); a forged header can only produce a redirect URI the provider refuses.
    /// </summary>
    public static WebApplication UseForwardedScheme(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<OidcSessionOptions>>().Value.Enabled)
        {
            var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedProto };
            forwarded.KnownIPNetworks.Clear();
            forwarded.KnownProxies.Clear();
            app.UseForwardedHeaders(forwarded);
        }
        return app;
    }

    /// <summary>Refuses an unsafe request carried by the session cookie unless it names <see cref="CsrfHeader"/>.</summary>
    public static WebApplication UseSessionCsrfCheck(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<IOptions<OidcSessionOptions>>().Value.Enabled)
        {
            return app;
        }
        app.Use(async (http, next) =>
        {
            var unsafeMethod = !(HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method) || HttpMethods.IsOptions(http.Request.Method));
            var byCookie = http.Request.Headers.Authorization.Count == 0 && http.User.Identity?.AuthenticationType == SessionScheme;
            if (unsafeMethod && byCookie && !http.Request.Headers.ContainsKey(CsrfHeader))
            {
                await Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden",
                    detail: $"A request signed in by the session cookie must carry the {CsrfHeader} header.").ExecuteAsync(http);
                return;
            }
            await next(http);
        });
        return app;
    }

    public static void MapSessionEndpoints(RouteGroupBuilder auth)
    {
        auth.MapGet("/options", (IOptions<OidcSessionOptions> oidc, IOptions<DevIssuerOptions> dev) =>
            Results.Ok(new { oidc = oidc.Value.Enabled, devIssuer = dev.Value.Enabled })).AllowAnonymous();
        auth.MapGet("/signin", (string? returnUrl, IOptions<OidcSessionOptions> oidc) =>
        {
            if (!oidc.Value.Enabled)
            {
                return Results.NotFound();
            }
            // Only a path on this site: an open redirect would hand a signed-in user to anyone's page.
            var target = returnUrl is { Length: > 0 } && returnUrl.StartsWith('/') && !returnUrl.StartsWith("//", StringComparison.Ordinal)
                && !returnUrl.Contains('\\', StringComparison.Ordinal) ? returnUrl : "/";
            return Results.Challenge(new AuthenticationProperties { RedirectUri = target }, [OidcScheme]);
        }).AllowAnonymous();
        auth.MapGet("/session", async (HttpContext http, IOptions<OidcSessionOptions> oidc) =>
        {
            if (!oidc.Value.Enabled)
            {
                return Results.NotFound();
            }
            var session = await http.AuthenticateAsync(SessionScheme);
            if (!session.Succeeded)
            {
                return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Not signed in");
            }
            var user = session.Principal!;
            return Results.Ok(new
            {
                user = new DevUser
                {
                    Id = user.UserId() ?? "",
                    Name = user.Identity?.Name ?? "",
                    Roles = user.FindAll(BeaconClaims.Role).Select(c => c.Value).ToList(),
                    Schools = user.Schools(),
                },
                accessTokenExpiresAt = session.Properties?.GetTokenValue("expires_at"),
                sessionEndsAt = session.Properties?.ExpiresUtc,
            });
        }).AllowAnonymous();
        auth.MapPost("/signout", async (HttpContext http, IOptions<OidcSessionOptions> oidc) =>
        {
            if (!oidc.Value.Enabled)
            {
                return Results.NotFound();
            }
            await http.SignOutAsync(OidcScheme, new AuthenticationProperties { RedirectUri = "/" });
            // The session store deletes the session (a copied cookie is refused from now on) and revokes its refresh tokens.
            await http.SignOutAsync(SessionScheme);
            return Results.Ok(new { endSessionUrl = http.Items[EndSessionUrl] as string ?? "/" });
        }).AllowAnonymous();
    }

    /// <summary>Puts the session's access token on proxied requests and keeps the session cookie away from the services.</summary>
    private sealed class SessionTokenTransform : ITransformProvider
    {
        public void ValidateRoute(TransformRouteValidationContext context)
        {
        }

        public void ValidateCluster(TransformClusterValidationContext context)
        {
        }

        public void Apply(TransformBuilderContext context) => context.AddRequestTransform(async transform =>
        {
            var http = transform.HttpContext;
            transform.ProxyRequest.Headers.Remove("Cookie");
            if (http.Request.Headers.Authorization.Count > 0 || http.User.Identity?.AuthenticationType != SessionScheme)
            {
                return;
            }
            var session = await http.AuthenticateAsync(SessionScheme);
            if (session.Properties?.GetTokenValue("access_token") is { } token)
            {
                transform.ProxyRequest.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            }
        });
    }
}
