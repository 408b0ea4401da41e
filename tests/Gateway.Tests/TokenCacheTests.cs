using System.Security.Claims;
using Beacon.ServiceDefaults;
using Beacon.Testing;
using Microsoft.IdentityModel.Tokens;

namespace Beacon.Gateway.Tests;

/// <summary>
/// The remembered-token validation every service and the gateway use. To see whether a token was served
/// from memory, the tests withdraw the signing key after the first validation: a token validated afresh
/// is then refused, a remembered one is not.
/// </summary>
public sealed class TokenCacheTests
{
    private static readonly SymmetricSecurityKey TestKey = new(Convert.FromBase64String(TestTokens.SigningKey));
    private static readonly SymmetricSecurityKey OtherKey = new("another-key-of-exactly-32-bytes!"u8.ToArray());

    private static TokenValidationParameters Parameters(SecurityKey key) => new()
    {
        ValidIssuer = TestTokens.Issuer,
        ValidAudience = TestTokens.Audience,
        IssuerSigningKey = key,
        NameClaimType = BeaconClaims.Name,
        RoleClaimType = BeaconClaims.Role,
        ClockSkew = TimeSpan.FromSeconds(30),
    };

    [Fact]
    public async Task A_validated_token_is_remembered_for_at_most_a_minute()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var handler = new CachingJsonWebTokenHandler(clock);
        var token = TestTokens.For("counselor-1", [Roles.Counselor], ["school-1"]);

        Assert.True((await handler.ValidateTokenAsync(token, Parameters(TestKey))).IsValid);
        clock.Set(clock.GetUtcNow() + CachingJsonWebTokenHandler.MaxAge - TimeSpan.FromSeconds(1));
        var remembered = await handler.ValidateTokenAsync(token, Parameters(OtherKey));
        Assert.True(remembered.IsValid);
        Assert.Equal("counselor-1", remembered.ClaimsIdentity.FindFirst(BeaconClaims.Subject)?.Value);

        clock.Set(clock.GetUtcNow() + TimeSpan.FromSeconds(2));
        Assert.False((await handler.ValidateTokenAsync(token, Parameters(OtherKey))).IsValid);
        // Validated afresh with the right key, it is accepted again.
        Assert.True((await handler.ValidateTokenAsync(token, Parameters(TestKey))).IsValid);
    }

    [Fact]
    public async Task A_token_is_not_remembered_past_its_expiry()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var handler = new CachingJsonWebTokenHandler(clock);
        var token = TestTokens.For("counselor-1", [Roles.Counselor], ["school-1"], lifetime: TimeSpan.FromSeconds(20));

        Assert.True((await handler.ValidateTokenAsync(token, Parameters(TestKey))).IsValid);
        clock.Set(clock.GetUtcNow() + TimeSpan.FromSeconds(10));
        Assert.True((await handler.ValidateTokenAsync(token, Parameters(OtherKey))).IsValid);
        clock.Set(clock.GetUtcNow() + TimeSpan.FromSeconds(11));
        Assert.False((await handler.ValidateTokenAsync(token, Parameters(OtherKey))).IsValid);
    }

    [Fact]
    public async Task A_refused_token_is_not_remembered()
    {
        var handler = new CachingJsonWebTokenHandler(TimeProvider.System);
        var token = TestTokens.For("counselor-1", [Roles.Counselor], ["school-1"]);

        Assert.False((await handler.ValidateTokenAsync(token, Parameters(OtherKey))).IsValid);
        Assert.True((await handler.ValidateTokenAsync(token, Parameters(TestKey))).IsValid);
    }

    [Fact]
    public async Task Each_request_gets_its_own_identity()
    {
        var handler = new CachingJsonWebTokenHandler(TimeProvider.System);
        var token = TestTokens.For("counselor-1", [Roles.Counselor], ["school-1"]);

        var first = await handler.ValidateTokenAsync(token, Parameters(TestKey));
        first.ClaimsIdentity.AddClaim(new Claim(BeaconClaims.Role, Roles.Administrator));
        var second = await handler.ValidateTokenAsync(token, Parameters(TestKey));
        second.ClaimsIdentity.AddClaim(new Claim(BeaconClaims.School, "school-2"));
        var third = await handler.ValidateTokenAsync(token, Parameters(TestKey));

        Assert.True(new ClaimsPrincipal(first.ClaimsIdentity).IsInRole(Roles.Administrator));
        foreach (var later in new[] { second, third })
        {
            var user = new ClaimsPrincipal(later.ClaimsIdentity);
            Assert.False(user.IsInRole(Roles.Administrator));
            Assert.True(user.IsInRole(Roles.Counselor));
        }
        Assert.DoesNotContain(third.ClaimsIdentity.FindAll(BeaconClaims.School), c => c.Value == "school-2");
    }
}
