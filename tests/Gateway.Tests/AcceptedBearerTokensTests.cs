using System.Net;
using System.Security.Claims;
using Beacon.Gateway.Security;
using Beacon.ServiceDefaults;
using Beacon.Testing;
using Microsoft.AspNetCore.Authentication;

namespace Beacon.Gateway.Tests;

/// <summary>
/// The gateway's kept bearer tokens (#24 item 1): a token the full scheme accepted signs in the next calls from
/// memory, for at most a minute and never past its expiry, with a user nobody can change; and authorization still
/// decides every call.
/// </summary>
public sealed class AcceptedBearerTokensTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private const string Header = "Bearer a.b.c";

    private static AuthenticateResult Accepted(string user, DateTimeOffset? expires = null)
    {
        var identity = new ClaimsIdentity([new Claim(BeaconClaims.Subject, user), new Claim(BeaconClaims.Role, Roles.Counselor)],
            "Bearer", BeaconClaims.Name, BeaconClaims.Role);
        var properties = new AuthenticationProperties { ExpiresUtc = expires };
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), properties, "Bearer"));
    }

    [Fact]
    public void A_token_is_kept_for_at_most_a_minute()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var tokens = new AcceptedBearerTokens(clock);
        tokens.Remember(Header, Accepted("counselor-1", clock.GetUtcNow().AddHours(1)));

        clock.Set(clock.GetUtcNow() + AcceptedBearerTokens.MaxAge - TimeSpan.FromSeconds(1));
        Assert.True(tokens.TryGet(Header, out var kept));
        Assert.Equal("counselor-1", kept.Principal!.UserId());
        Assert.False(tokens.TryGet("Bearer x.y.z", out _));

        clock.Set(clock.GetUtcNow() + TimeSpan.FromSeconds(2));
        Assert.False(tokens.TryGet(Header, out _));
    }

    [Fact]
    public void A_token_is_not_kept_past_its_expiry_and_a_refusal_is_never_kept()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var tokens = new AcceptedBearerTokens(clock);
        tokens.Remember(Header, Accepted("counselor-1", clock.GetUtcNow().AddSeconds(20)));
        clock.Set(clock.GetUtcNow().AddSeconds(19));
        Assert.True(tokens.TryGet(Header, out _));
        clock.Set(clock.GetUtcNow().AddSeconds(2));
        Assert.False(tokens.TryGet(Header, out _));

        tokens.Remember("Bearer refused", AuthenticateResult.Fail("bad signature"));
        tokens.Remember("Bearer nothing", AuthenticateResult.NoResult());
        Assert.False(tokens.TryGet("Bearer refused", out _));
        Assert.False(tokens.TryGet("Bearer nothing", out _));
    }

    [Fact]
    public void The_kept_user_cannot_be_changed_but_a_copy_can()
    {
        var tokens = new AcceptedBearerTokens(TimeProvider.System);
        tokens.Remember(Header, Accepted("counselor-1"));
        Assert.True(tokens.TryGet(Header, out var kept));
        var user = kept.Principal!;
        var identity = (ClaimsIdentity)user.Identity!;

        Assert.Throws<InvalidOperationException>(() => identity.AddClaim(new Claim(BeaconClaims.Role, Roles.Administrator)));
        Assert.Throws<InvalidOperationException>(() => identity.AddClaims([new Claim(BeaconClaims.School, "school-2")]));
        Assert.Throws<InvalidOperationException>(() => identity.RemoveClaim(identity.FindFirst(BeaconClaims.Role)));
        Assert.Throws<InvalidOperationException>(() => identity.TryRemoveClaim(identity.FindFirst(BeaconClaims.Role)));
        Assert.Throws<InvalidOperationException>(() => user.AddIdentity(new ClaimsIdentity([new Claim(BeaconClaims.Role, Roles.Administrator)])));
        Assert.True(tokens.TryGet(Header, out var again));
        Assert.Same(user, again.Principal);
        Assert.False(again.Principal!.IsInRole(Roles.Administrator));
        Assert.True(again.Principal.IsInRole(Roles.Counselor));
        Assert.True(again.Principal.Identity!.IsAuthenticated);

        var copy = user.Clone();
        ((ClaimsIdentity)copy.Identity!).AddClaim(new Claim(BeaconClaims.Role, Roles.Administrator));
        Assert.True(copy.IsInRole(Roles.Administrator));
        Assert.False(user.IsInRole(Roles.Administrator));
    }

    [Fact]
    public async Task Authorization_decides_every_call_of_a_kept_token_and_the_token_reaches_the_service()
    {
        const string opsOnly = "/api/early-warning/v1/monitoring/drift", alerts = "/api/early-warning/v1/alerts";
        using var anonymous = fixture.Gateway.CreateClientAs(null);
        var token = await TestTokens.FromDevIssuerAsync(anonymous, "c-north-1");
        using var counselor = fixture.Gateway.CreateClientAs(token);
        var before = fixture.Backend.Count(opsOnly);
        for (var call = 0; call < 3; call++)
        {
            using (var refused = await counselor.GetAsync(opsOnly))
            {
                Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            }
            using var allowed = await counselor.GetAsync(alerts);
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        }
        Assert.Equal(before, fixture.Backend.Count(opsOnly));
        Assert.Equal(3, fixture.Backend.Requests.ToList().Count(r => r.Path == alerts && r.Authorization == $"Bearer {token}"));

        // A token with one character changed is refused every time, however often its original was accepted.
        using var tampered = fixture.Gateway.CreateClientAs(token[..^2] + (token[^2] == 'A' ? "B" : "A") + token[^1]);
        for (var call = 0; call < 2; call++)
        {
            using var refused = await tampered.GetAsync(alerts);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }
    }
}
