using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Security.Claims;
using Beacon.ServiceDefaults;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Features.Authentication;

namespace Beacon.Gateway.Security;

/// <summary>
/// Bearer tokens the gateway accepted in the last minute, each with the user the full scheme made of it (JwtBearer
/// with its events and the provider's claim names). An API or gRPC call with such a token skips the scheme's
/// per-request work: a handler resolved, the validation parameters and the identity copied, the result's properties
/// written as text (about 3 KB of garbage and a sixth of the gateway's CPU per request under load, #24 item 1).
/// The rules are those of every service's token cache (<see cref="CachingJsonWebTokenHandler"/>):
/// kept for at most <see cref="MaxAge"/> and never past the token's expiry, so a signing key the provider withdraws
/// stops being honoured within a minute; a refused token is never kept.
/// The kept user is frozen: one principal serves every request of its token, so anything that tried to add to it or
/// take from it would reach other requests; it fails instead.
/// </summary>
public sealed class AcceptedBearerTokens(TimeProvider clock)
{
    // The same bounds as every service's token cache, so the two cannot drift apart.
    public static readonly TimeSpan MaxAge = CachingJsonWebTokenHandler.MaxAge;

    /// <summary>Tokens kept at once (one per signed-in caller); when full, expired ones are dropped, then all.</summary>
    public const int MaxEntries = CachingJsonWebTokenHandler.MaxEntries;

    private readonly ConcurrentDictionary<string, Accepted> accepted = new(StringComparer.Ordinal);

    private sealed record Accepted(AuthenticateResult Result, DateTimeOffset Until);

    /// <summary>The result kept for this Authorization header value, if it is still good.</summary>
    public bool TryGet(string authorization, [NotNullWhen(true)] out AuthenticateResult? result)
    {
        if (accepted.TryGetValue(authorization, out var known) && known.Until > clock.GetUtcNow())
        {
            result = known.Result;
            return true;
        }
        result = null;
        return false;
    }

    /// <summary>Keeps a successful result of the full scheme for its header value; anything else is ignored.</summary>
    public void Remember(string authorization, AuthenticateResult result)
    {
        if (!result.Succeeded || result.Principal is not { } principal || result.Ticket is not { } ticket)
        {
            return;
        }
        var now = clock.GetUtcNow();
        var until = now + MaxAge;
        if (ExpiryOf(result) is { } expires && expires < until)
        {
            until = expires;
        }
        if (until <= now)
        {
            return;
        }
        if (accepted.Count >= MaxEntries)
        {
            foreach (var (key, entry) in accepted)
            {
                if (entry.Until <= now)
                {
                    accepted.TryRemove(key, out _);
                }
            }
            if (accepted.Count >= MaxEntries)
            {
                accepted.Clear();
            }
        }
        var frozen = new AuthenticationTicket(new FrozenPrincipal(principal), ticket.AuthenticationScheme);
        accepted[authorization] = new Accepted(AuthenticateResult.Success(frozen), until);
    }

    /// <summary>The token's expiry as the scheme reported it, or its <c>exp</c> claim.</summary>
    private static DateTimeOffset? ExpiryOf(AuthenticateResult result) =>
        result.Properties?.ExpiresUtc
        ?? (long.TryParse(result.Principal?.FindFirst("exp")?.Value, out var exp) ? DateTimeOffset.FromUnixTimeSeconds(exp) : null);

    /// <summary>A user nobody can change: the identities are copied once, and every way to add or remove a claim throws.</summary>
    internal sealed class FrozenPrincipal(ClaimsPrincipal source) : ClaimsPrincipal(source.Identities.Select(i => new FrozenIdentity(i)))
    {
        public override void AddIdentity(ClaimsIdentity identity) => throw Frozen();

        public override void AddIdentities(IEnumerable<ClaimsIdentity> identities) => throw Frozen();

        public override ClaimsPrincipal Clone() => new(Identities.Select(i => i.Clone()));
    }

    internal sealed class FrozenIdentity(ClaimsIdentity source) : ClaimsIdentity(source)
    {
        public override void AddClaim(Claim claim) => throw Frozen();

        public override void AddClaims(IEnumerable<Claim?> claims) => throw Frozen();

        public override void RemoveClaim(Claim? claim) => throw Frozen();

        public override bool TryRemoveClaim(Claim? claim) => throw Frozen();

        public override ClaimsIdentity Clone() => new(this);
    }

    private static InvalidOperationException Frozen() =>
        new("A user authenticated from a kept bearer token serves every request of that token and cannot be changed; copy it (Clone) first.");
}

/// <summary>
/// Authentication at the gateway: a proxied call (an API path or gRPC) whose bearer token is in
/// <see cref="AcceptedBearerTokens"/> is signed in from there; everything else (the dashboard, the sign-in flow and
/// its callbacks, the session cookie, a token not seen in the last minute) goes through ASP.NET Core's authentication
/// middleware unchanged, and a bearer token it accepts on a proxied call is kept.
/// </summary>
public sealed class GatewayAuthenticationMiddleware
{
    private readonly RequestDelegate next;
    private readonly AuthenticationMiddleware full;
    private readonly AcceptedBearerTokens tokens;

    public GatewayAuthenticationMiddleware(RequestDelegate next, IAuthenticationSchemeProvider schemes, AcceptedBearerTokens tokens)
    {
        this.next = next;
        this.tokens = tokens;
        full = new AuthenticationMiddleware(RememberThenNext, schemes);
    }

    public Task Invoke(HttpContext http)
    {
        if (BearerOfProxiedCall(http) is { } authorization && tokens.TryGet(authorization, out var result))
        {
            var features = new KeptAuthentication(result);
            http.Features.Set<IHttpAuthenticationFeature>(features);
            http.Features.Set<IAuthenticateResultFeature>(features);
            return next(http);
        }
        return full.Invoke(http);
    }

    private Task RememberThenNext(HttpContext http)
    {
        if (BearerOfProxiedCall(http) is { } authorization && http.Features.Get<IAuthenticateResultFeature>()?.AuthenticateResult is { Succeeded: true } result)
        {
            tokens.Remember(authorization, result);
        }
        return next(http);
    }

    /// <summary>The Authorization header of an API or gRPC call carrying one bearer token; null for anything else.</summary>
    private static string? BearerOfProxiedCall(HttpContext http)
    {
        var request = http.Request;
        if (!request.Path.StartsWithSegments("/api") && request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) != true)
        {
            return null;
        }
        var authorization = request.Headers.Authorization;
        return authorization.Count == 1 && authorization[0] is { } value && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? value : null;
    }

    /// <summary>What the authentication middleware sets for a request, from a kept result (a new one per request: the user may be replaced).</summary>
    private sealed class KeptAuthentication(AuthenticateResult result) : IHttpAuthenticationFeature, IAuthenticateResultFeature
    {
        private ClaimsPrincipal? user = result.Principal;

        public AuthenticateResult? AuthenticateResult { get; set; } = result;

        public ClaimsPrincipal? User
        {
            get => user;
            set
            {
                user = value;
                AuthenticateResult = null;
            }
        }
    }
}

public static class GatewayAuthentication
{
    public static IHostApplicationBuilder AddGatewayAuthentication(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<AcceptedBearerTokens>();
        return builder;
    }

    public static WebApplication UseGatewayAuthentication(this WebApplication app)
    {
        // WebApplication adds UseAuthentication() at the start of the pipeline unless this key says it is in place
        // (UseAuthentication sets it): this middleware holds it.
        ((IApplicationBuilder)app).Properties["__AuthenticationMiddlewareSet"] = true;
        app.UseMiddleware<GatewayAuthenticationMiddleware>();
        return app;
    }
}
