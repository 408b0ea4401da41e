using System.Net;
using System.Text;
using Beacon.ServiceDefaults;

namespace Beacon.Testing;

/// <summary>
/// Who calls, in the security tests of every service: one school's staff, the other school's staff,
/// ops, a data feed, and broken tokens. Each service's test lists its endpoints against these callers.
/// </summary>
public static class Callers
{
    public const string School = "sec-north";
    public const string OtherSchool = "sec-south";
    public const string CounselorId = "sec-counselor";
    public const string OtherCounselorId = "sec-counselor-other";

    public static string? Token(string who) => who switch
    {
        "none" => null,
        "admin" => TestTokens.Administrator,
        "counselor" => TestTokens.Counselor(CounselorId, School),
        "counselor-other" => TestTokens.Counselor(OtherCounselorId, OtherSchool),
        "coordinator" => TestTokens.Coordinator("sec-coordinator", School),
        "coordinator-other" => TestTokens.Coordinator("sec-coordinator-other", OtherSchool),
        "ops" => TestTokens.Ops(),
        "feed" => TestTokens.Feed(),
        "service" => TestTokens.For("service:test", [Roles.Service]),
        // Expired an hour ago (beyond the 30 s clock skew).
        "expired" => TestTokens.For("test-admin", [Roles.Administrator], lifetime: TimeSpan.FromMinutes(5), now: DateTimeOffset.UtcNow.AddHours(-1)),
        "forged" => TestTokens.Forged("test-admin", [Roles.Administrator]),
        // A valid token with one character of the signature changed.
        "tampered" => Tamper(TestTokens.Administrator),
        _ => throw new ArgumentOutOfRangeException(nameof(who), who, "unknown caller"),
    };

    private static string Tamper(string token)
    {
        var last = token[^2];
        return token[..^2] + (last == 'A' ? 'B' : 'A') + token[^1];
    }

    /// <summary>
    /// Sends one request as <paramref name="who"/> and checks the status. A refused call must carry none
    /// of <paramref name="secrets"/> (names, ids of the protected record) in its body.
    /// </summary>
    public static async Task AssertAsync(HttpClient client, string method, string path, string who, int expected, params string[] secrets)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (Token(who) is { } token)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }
        if (method is "POST" or "PUT")
        {
            request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        }
        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == expected, $"{method} {path} as {who}: expected {expected}, got {(int)response.StatusCode} {body}");
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.NotFound)
        {
            foreach (var secret in secrets)
            {
                Assert.DoesNotContain(secret, body, StringComparison.OrdinalIgnoreCase);
            }
        }
    }
}
