using Beacon.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace Beacon.Gateway.Security;

/// <summary>
/// A demo user the development issuer can sign in (section <c>Auth:DevIssuer:Users</c>). Settable
/// properties, not a positional record: configuration drops empty arrays, and a missing constructor
/// argument would silently drop the user.
/// </summary>
public sealed record DevUser
{
    public string Id { get; init; } = "";
    public string Name { get; init; } = "";
    public IReadOnlyList<string> Roles { get; init; } = [];
    public IReadOnlyList<string> Schools { get; init; } = [];
}

public sealed class DevIssuerOptions
{
    /// <summary>Off unless asked for: a production gateway must take tokens from a real provider.</summary>
    public bool Enabled { get; set; }
    public int LifetimeMinutes { get; set; } = 480;
    public List<DevUser> Users { get; set; } = [];
}

public sealed record DevTokenRequest(string? User);

public sealed record DevTokenResponse(string AccessToken, int ExpiresIn, DevUser User);

/// <summary>
/// Mints tokens for the demo users with the configured signing key, for the local run and tests only.
/// When it is off its endpoints answer 404, as if they did not exist.
/// </summary>
public static class DevIssuer
{
    public static IHostApplicationBuilder AddDevIssuer(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<DevIssuerOptions>(builder.Configuration.GetSection("Auth:DevIssuer"));
        return builder;
    }

    public static WebApplication MapAuthEndpoints(this WebApplication app)
    {
        var auth = app.MapGroup("/auth");
        auth.MapGet("/dev/users", (IOptions<DevIssuerOptions> issuer) =>
            issuer.Value.Enabled ? Results.Ok(issuer.Value.Users) : Results.NotFound()).AllowAnonymous();
        auth.MapPost("/dev/token", IssueToken).AllowAnonymous();
        OidcSession.MapSessionEndpoints(auth);
        auth.MapGet("/me", (HttpContext http) =>
        {
            var user = http.User;
            return Results.Ok(new DevUser
            {
                Id = user.UserId() ?? "",
                Name = user.Identity?.Name ?? "",
                Roles = user.FindAll(BeaconClaims.Role).Select(c => c.Value).ToList(),
                Schools = user.Schools(),
            });
        });
        return app;
    }

    private static IResult IssueToken(DevTokenRequest? request, IOptions<DevIssuerOptions> issuer, IOptions<AuthOptions> auth)
    {
        if (!issuer.Value.Enabled || auth.Value.Key is not { } key)
        {
            return Results.NotFound();
        }
        var user = issuer.Value.Users.FirstOrDefault(u => string.Equals(u.Id, request?.User, StringComparison.Ordinal));
        if (user is null)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]>
            {
                ["user"] = [$"Unknown demo user '{request?.User}'. Known: {string.Join(", ", issuer.Value.Users.Select(u => u.Id))}."],
            });
        }
        var lifetime = TimeSpan.FromMinutes(issuer.Value.LifetimeMinutes);
        var token = BeaconTokens.Create(key, auth.Value.Issuer, auth.Value.Audience, user.Id, user.Name, user.Roles, user.Schools, lifetime);
        return Results.Ok(new DevTokenResponse(token, (int)lifetime.TotalSeconds, user));
    }
}
