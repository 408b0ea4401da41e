using System.Security.Claims;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Beacon.ServiceDefaults;

/// <summary>
/// JWT validation that remembers a token it accepted: the same bearer token comes with every request of a
/// session, and parsing it and checking its signature was about 15 % of the gateway's CPU per request.
/// A remembered token is accepted again until it expires (its <c>exp</c>, without the clock skew) or for
/// at most <see cref="MaxAge"/>, so a signing key withdrawn by the identity provider stops being honoured
/// within that time. Refused tokens are never remembered. Each request gets its own copy of the identity,
/// so nothing one request adds to it reaches another.
/// </summary>
public sealed class CachingJsonWebTokenHandler(TimeProvider clock) : JsonWebTokenHandler
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(1);

    /// <summary>Tokens remembered at once (one per signed-in session); beyond it tokens are validated each time.</summary>
    public const int MaxEntries = 10_000;

    private readonly MemoryCache accepted = new(new MemoryCacheOptions { SizeLimit = MaxEntries });

    private sealed record Accepted(TokenValidationResult Result, DateTimeOffset Until);

    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        var now = clock.GetUtcNow();
        if (accepted.TryGetValue(token, out Accepted? known) && known!.Until > now)
        {
            return CopyOf(known.Result);
        }
        var result = await base.ValidateTokenAsync(token, validationParameters);
        if (result.IsValid && result.ClaimsIdentity is not null)
        {
            var expires = result.SecurityToken?.ValidTo is { } validTo && validTo != DateTime.MinValue
                ? new DateTimeOffset(DateTime.SpecifyKind(validTo, DateTimeKind.Utc))
                : DateTimeOffset.MaxValue;
            var until = now + MaxAge < expires ? now + MaxAge : expires;
            if (until > now)
            {
                accepted.Set(token, new Accepted(CopyOf(result), until), new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = until - now });
            }
        }
        return result;
    }

    private static TokenValidationResult CopyOf(TokenValidationResult result) => new()
    {
        IsValid = true,
        ClaimsIdentity = result.ClaimsIdentity.Clone(),
        SecurityToken = result.SecurityToken,
        Issuer = result.Issuer,
        TokenType = result.TokenType,
        TokenContext = result.TokenContext,
    };
}
