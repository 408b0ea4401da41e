using System.Linq.Expressions;
using System.Net.Http.Json;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Beacon.ServiceDefaults;

/// <summary>The roles a caller can hold (the <c>role</c> claim).</summary>
public static class Roles
{
    public const string Counselor = "counselor";
    public const string Coordinator = "coordinator";
    /// <summary>Sees the sections they teach (the section rosters name them), not the school's other students.</summary>
    public const string Teacher = "teacher";
    public const string Ops = "ops";
    public const string Administrator = "administrator";
    public const string Feed = "feed";
    public const string Service = "service";
}

/// <summary>Authorization policy names, the same in the gateway and every service.</summary>
public static class Policies
{
    /// <summary>Student-level reads: counselors, coordinators, administrators (and services, for each other).</summary>
    public const string Staff = "staff";
    public const string Coordinators = "coordinators";
    /// <summary>Section views and group interventions: teachers (their own sections), coordinators (their schools' sections), administrators.</summary>
    public const string Teaching = "teaching";
    /// <summary>Model monitoring and aggregate figures; never names.</summary>
    public const string Ops = "ops";
    public const string Administrators = "administrators";
    /// <summary>Data feeds: may only write signals into Ingestion.</summary>
    public const string Feeds = "feeds";
    /// <summary>Internal calls between services.</summary>
    public const string Services = "services";
}

/// <summary>Claim names in Beacon's tokens (JWT names, not mapped to the long WS-* URIs).</summary>
public static class BeaconClaims
{
    public const string Subject = "sub";
    public const string Name = "name";
    public const string Role = "role";
    public const string School = "school";
}

/// <summary>Token settings (section <c>Auth</c>): either an OpenID Connect authority or a signing key (dev/test).</summary>
public sealed class AuthOptions
{
    public string Issuer { get; set; } = "beacon-dev";
    public string Audience { get; set; } = "beacon";
    /// <summary>Base64 HMAC key, at least 32 bytes. For the local run and tests only.</summary>
    public string? SigningKey { get; set; }
    /// <summary>An OpenID Connect provider (for example Keycloak); its keys are fetched from discovery.</summary>
    public string? Authority { get; set; }
    public bool RequireHttpsMetadata { get; set; } = true;
    /// <summary>Client credentials used for service-to-service calls when an authority is configured.</summary>
    public string? ClientId { get; set; }
    public string? ClientSecret { get; set; }
    /// <summary>Where the provider puts subject, name, role and school (<see cref="ClaimNames"/>).</summary>
    public ClaimNames Claims { get; set; } = new();

    public SymmetricSecurityKey? Key => string.IsNullOrWhiteSpace(SigningKey) ? null : new SymmetricSecurityKey(Convert.FromBase64String(SigningKey));
}

public static class AuthExtensions
{
    /// <summary>
    /// JWT bearer authentication and Beacon's policies. Every endpoint needs a signed-in caller unless it
    /// says otherwise (health checks do); the same token is validated by the gateway and by each service,
    /// so a call that goes around the gateway is checked just the same.
    /// </summary>
    public static IHostApplicationBuilder AddServiceAuthentication(this IHostApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection("Auth").Get<AuthOptions>() ?? new AuthOptions();
        if (options.Key is null && string.IsNullOrWhiteSpace(options.Authority))
        {
            throw new InvalidOperationException(
                "Authentication is not configured: set Auth:Authority (an OpenID Connect provider) or, for a local run, Auth:SigningKey.");
        }
        builder.Services.Configure<AuthOptions>(builder.Configuration.GetSection("Auth"));
        var authentication = builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme);
        var hasAuthority = !string.IsNullOrWhiteSpace(options.Authority);
        if (options.Key is not null && hasAuthority)
        {
            // Both: the provider's tokens (people) and tokens minted with the key (the local run's own service
            // accounts and development issuer). The token's unverified issuer only picks which scheme validates it.
            authentication
                .AddJwtBearer(KeyScheme, jwt => ConfigureJwt(jwt, options, useAuthority: false))
                .AddJwtBearer(ProviderScheme, jwt => ConfigureJwt(jwt, options, useAuthority: true))
                .AddPolicyScheme(JwtBearerDefaults.AuthenticationScheme, "Bearer token", policy => policy.ForwardDefaultSelector = http =>
                    IssuerOf(http.Request.Headers.Authorization.ToString()) == options.Issuer ? KeyScheme : ProviderScheme);
        }
        else
        {
            authentication.AddJwtBearer(jwt => ConfigureJwt(jwt, options, useAuthority: hasAuthority));
        }
        builder.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(Policies.Staff, p => p.RequireRole(Roles.Counselor, Roles.Coordinator, Roles.Administrator, Roles.Service))
            .AddPolicy(Policies.Coordinators, p => p.RequireRole(Roles.Coordinator, Roles.Administrator))
            .AddPolicy(Policies.Teaching, p => p.RequireRole(Roles.Teacher, Roles.Coordinator, Roles.Administrator))
            .AddPolicy(Policies.Ops, p => p.RequireRole(Roles.Ops, Roles.Administrator))
            .AddPolicy(Policies.Administrators, p => p.RequireRole(Roles.Administrator))
            .AddPolicy(Policies.Feeds, p => p.RequireRole(Roles.Feed, Roles.Administrator))
            .AddPolicy(Policies.Services, p => p.RequireRole(Roles.Service, Roles.Administrator));
        builder.Services.AddSingleton<ServiceTokens>();
        builder.Services.AddTransient<ServiceTokenHandler>();
        return builder;
    }

    /// <summary>The bearer scheme for tokens signed with <c>Auth:SigningKey</c> when a provider is configured too.</summary>
    public const string KeyScheme = "beacon-key";
    /// <summary>The bearer scheme for the provider's tokens when a signing key is configured too.</summary>
    public const string ProviderScheme = "provider";

    private static void ConfigureJwt(JwtBearerOptions jwt, AuthOptions options, bool useAuthority)
    {
        jwt.MapInboundClaims = false;
        // Nothing reads the token back from the ticket; storing it cost a dictionary per request.
        jwt.SaveToken = false;
        jwt.TokenHandlers.Clear();
        jwt.TokenHandlers.Add(new CachingJsonWebTokenHandler(TimeProvider.System));
        jwt.Audience = options.Audience;
        if (useAuthority)
        {
            jwt.Authority = options.Authority;
            jwt.RequireHttpsMetadata = options.RequireHttpsMetadata;
            // The provider names roles and schools its own way; policies read Beacon's names.
            jwt.Events = new JwtBearerEvents
            {
                OnTokenValidated = context =>
                {
                    if (context.Principal?.Identity is ClaimsIdentity identity)
                    {
                        ProviderClaims.Apply(identity, options.Claims);
                    }
                    return Task.CompletedTask;
                },
            };
        }
        var withKey = !useAuthority && options.Key is not null;
        jwt.TokenValidationParameters = new TokenValidationParameters
        {
            // With an authority the issuer and its keys come from its discovery document.
            ValidIssuer = withKey ? options.Issuer : null,
            ValidateIssuer = withKey,
            ValidAudience = options.Audience,
            IssuerSigningKey = withKey ? options.Key : null,
            NameClaimType = BeaconClaims.Name,
            RoleClaimType = BeaconClaims.Role,
            ClockSkew = TimeSpan.FromSeconds(30),
        };
        // No token is ever taken from the query string (it would end up in access and audit logs): the live
        // feed, which EventSource opens without headers, takes a single-use stream ticket instead (Notifications).
    }

    /// <summary>The issuer a bearer token claims (unverified; only to choose the scheme that verifies it).</summary>
    private static string? IssuerOf(string authorization)
    {
        const string prefix = "Bearer ";
        if (!authorization.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        var token = authorization[prefix.Length..].Trim();
        try
        {
            var handler = new JsonWebTokenHandler();
            return handler.CanReadToken(token) ? handler.ReadJsonWebToken(token).Issuer : null;
        }
        catch (ArgumentException)
        {
            return null; // unreadable: the provider's scheme refuses it with a 401
        }
    }

    public static string? UserId(this ClaimsPrincipal user) => user.FindFirst(BeaconClaims.Subject)?.Value;

    public static IReadOnlyList<string> Schools(this ClaimsPrincipal user) =>
        user.FindAll(BeaconClaims.School).Select(c => c.Value).ToList();

    /// <summary>
    /// Record-level rule: administrators and service accounts see every school; counselors and coordinators
    /// only the schools in their token; ops and feeds no student records at all.
    /// </summary>
    public static bool CanSeeSchool(this ClaimsPrincipal user, string? schoolId)
    {
        if (user.IsInRole(Roles.Administrator) || user.IsInRole(Roles.Service))
        {
            return true;
        }
        if (schoolId is null || !(user.IsInRole(Roles.Counselor) || user.IsInRole(Roles.Coordinator)))
        {
            return false;
        }
        return user.FindAll(BeaconClaims.School).Any(c => c.Value == schoolId);
    }

    /// <summary>
    /// Record-level rule for a class section: administrators see every section; coordinators the sections of their
    /// schools; a teacher only a section of one of their schools that names them among its teachers. Counselors see
    /// students through <see cref="CanSeeSchool"/>, not sections.
    /// </summary>
    public static bool CanSeeSection(this ClaimsPrincipal user, string? schoolId, IEnumerable<string> teacherIds)
    {
        if (user.IsInRole(Roles.Administrator))
        {
            return true;
        }
        var inSchool = schoolId is not null && user.FindAll(BeaconClaims.School).Any(c => c.Value == schoolId);
        if (user.IsInRole(Roles.Coordinator) && inSchool)
        {
            return true;
        }
        return user.IsInRole(Roles.Teacher) && inSchool && user.UserId() is { } me && teacherIds.Contains(me, StringComparer.Ordinal);
    }

    /// <summary>A staff member's own things (feed, preferences): only they, or an administrator.</summary>
    public static bool IsSelfOrAdministrator(this ClaimsPrincipal user, string staffId) =>
        user.IsInRole(Roles.Administrator) || string.Equals(user.UserId(), staffId, StringComparison.Ordinal);

    /// <summary>True when the caller sees every school (no filter needed on lists).</summary>
    public static bool SeesAllSchools(this ClaimsPrincipal user) => user.IsInRole(Roles.Administrator) || user.IsInRole(Roles.Service);

    /// <summary>Keeps only rows of schools the caller may see (<see cref="CanSeeSchool"/>), in the database query.</summary>
    public static IQueryable<T> WhereSchoolVisibleTo<T>(this IQueryable<T> query, ClaimsPrincipal user, Expression<Func<T, string>> schoolOf)
    {
        if (user.SeesAllSchools())
        {
            return query;
        }
        var schools = user.IsInRole(Roles.Counselor) || user.IsInRole(Roles.Coordinator) ? user.Schools().ToList() : [];
        var contains = Expression.Call(Expression.Constant(schools), typeof(List<string>).GetMethod(nameof(List<string>.Contains))!, schoolOf.Body);
        return query.Where(Expression.Lambda<Func<T, bool>>(contains, schoolOf.Parameters[0]));
    }
}

/// <summary>Mints Beacon tokens with the configured signing key (dev issuer, service accounts, tests).</summary>
public static class BeaconTokens
{
    public static string Create(SymmetricSecurityKey key, string issuer, string audience, string subject, string? name,
        IEnumerable<string> roles, IEnumerable<string> schools, TimeSpan lifetime, DateTimeOffset? now = null)
    {
        var issuedAt = (now ?? DateTimeOffset.UtcNow).UtcDateTime;
        var claims = new Dictionary<string, object>
        {
            [BeaconClaims.Subject] = subject,
            [BeaconClaims.Name] = name ?? subject,
            [BeaconClaims.Role] = roles.ToArray(),
            [BeaconClaims.School] = schools.ToArray(),
        };
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Claims = claims,
            IssuedAt = issuedAt,
            NotBefore = issuedAt,
            Expires = issuedAt + lifetime,
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256),
        });
    }
}

/// <summary>
/// A service's own token for calls to other services (role <c>service</c>). With a signing key the
/// service mints it; with an authority it uses the client-credentials grant at the provider's token
/// endpoint. Cached until shortly before it expires.
/// </summary>
public sealed class ServiceTokens(Microsoft.Extensions.Options.IOptions<AuthOptions> options, IHostEnvironment environment, IHttpClientFactory httpClients)
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private string? _token;
    private DateTimeOffset _renewAt;

    public async Task<string> GetAsync(CancellationToken ct)
    {
        if (_token is not null && DateTimeOffset.UtcNow < _renewAt)
        {
            return _token;
        }
        await _lock.WaitAsync(ct);
        try
        {
            if (_token is null || DateTimeOffset.UtcNow >= _renewAt)
            {
                (_token, var lifetime) = await FetchAsync(ct);
                _renewAt = DateTimeOffset.UtcNow + lifetime * 0.8;
            }
            return _token;
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task<(string Token, TimeSpan Lifetime)> FetchAsync(CancellationToken ct)
    {
        var auth = options.Value;
        if (auth.Key is { } key)
        {
            var lifetime = TimeSpan.FromHours(1);
            return (BeaconTokens.Create(key, auth.Issuer, auth.Audience, $"service:{environment.ApplicationName}", environment.ApplicationName,
                [Roles.Service], [], lifetime), lifetime);
        }
        if (string.IsNullOrWhiteSpace(auth.ClientId) || string.IsNullOrWhiteSpace(auth.ClientSecret))
        {
            throw new InvalidOperationException("Service-to-service calls need Auth:ClientId and Auth:ClientSecret when Auth:Authority is set.");
        }
        var client = httpClients.CreateClient(nameof(ServiceTokens));
        var discovery = await client.GetFromJsonAsync<Dictionary<string, object>>(
            $"{auth.Authority!.TrimEnd('/')}/.well-known/openid-configuration", ct);
        var tokenEndpoint = discovery?["token_endpoint"]?.ToString() ?? throw new InvalidOperationException("The provider names no token endpoint.");
        using var response = await client.PostAsync(tokenEndpoint, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = auth.ClientId,
            ["client_secret"] = auth.ClientSecret,
            ["audience"] = auth.Audience,
        }), ct);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<Dictionary<string, System.Text.Json.JsonElement>>(ct)
            ?? throw new InvalidOperationException("Empty token response.");
        return (body["access_token"].GetString()!, TimeSpan.FromSeconds(body.TryGetValue("expires_in", out var e) ? e.GetInt32() : 300));
    }
}

/// <summary>Adds the service's own bearer token to outgoing calls (named HTTP and gRPC clients).</summary>
public sealed class ServiceTokenHandler(ServiceTokens tokens) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", await tokens.GetAsync(cancellationToken));
        return await base.SendAsync(request, cancellationToken);
    }
}
