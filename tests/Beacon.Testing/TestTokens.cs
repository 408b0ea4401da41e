using System.Net.Http.Headers;
using System.Net.Http.Json;
using Beacon.ServiceDefaults;
using Microsoft.IdentityModel.Tokens;

namespace Beacon.Testing;

/// <summary>
/// Tokens for in-memory services, signed with the test key every <see cref="ServiceFactory{TProgram}"/>
/// configures, so a token minted here is accepted by every service in the test (as in production, where
/// all validate the same provider's tokens).
/// </summary>
public static class TestTokens
{
    public const string Issuer = "beacon-dev";
    public const string Audience = "beacon";

    /// <summary>A fixed 32-byte test key; never used outside tests.</summary>
    public static readonly string SigningKey = Convert.ToBase64String("beacon-test-signing-key-32-bytes"u8.ToArray());

    private static SymmetricSecurityKey Key => new(Convert.FromBase64String(SigningKey));

    public static string For(string user, IEnumerable<string> roles, IEnumerable<string>? schools = null, TimeSpan? lifetime = null, DateTimeOffset? now = null) =>
        BeaconTokens.Create(Key, Issuer, Audience, user, user, roles, schools ?? [], lifetime ?? TimeSpan.FromHours(1), now);

    public static string Administrator { get; } = For("test-admin", [Roles.Administrator]);

    public static string Counselor(string staffId, params string[] schools) => For(staffId, [Roles.Counselor], schools);

    public static string Coordinator(string staffId, params string[] schools) => For(staffId, [Roles.Coordinator], schools);

    public static string Ops(string user = "test-ops") => For(user, [Roles.Ops]);

    public static string Feed(string user = "test-feed") => For(user, [Roles.Feed]);

    /// <summary>A token signed with a different key: must be refused.</summary>
    public static string Forged(string user, IEnumerable<string> roles) =>
        BeaconTokens.Create(new SymmetricSecurityKey("someone-elses-key-also-32-bytes!"u8.ToArray()), Issuer, Audience, user, user, roles, [], TimeSpan.FromHours(1));

    public static HttpClient WithToken(this HttpClient client, string? token)
    {
        client.DefaultRequestHeaders.Authorization = token is null ? null : new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>A token for a demo user from a running gateway's development issuer.</summary>
    public static async Task<string> FromDevIssuerAsync(HttpClient gateway, string user)
    {
        using var response = await gateway.PostAsJsonAsync("/auth/dev/token", new { user });
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<DevToken>();
        return body!.AccessToken;
    }

    private sealed record DevToken(string AccessToken);
}

/// <summary>Adds a bearer token to every request (for gRPC channels over an in-memory handler).</summary>
public sealed class BearerTokenHandler(string token, HttpMessageHandler inner) : DelegatingHandler(inner)
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return base.SendAsync(request, cancellationToken);
    }
}
