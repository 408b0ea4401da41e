using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace Beacon.Simulator;

/// <summary>
/// An HTTP client for the gateway that carries a bearer token: BEACON_TOKEN if set, otherwise one from
/// the gateway's development issuer for the data-feed account (the local run turns that issuer on).
/// </summary>
public static class GatewayClient
{
    public const string FeedUser = "feed-sis";

    public static async Task<HttpClient> CreateAsync(Uri gateway, TimeSpan timeout, CancellationToken ct)
    {
        var http = new HttpClient { BaseAddress = gateway, Timeout = timeout };
        var token = Environment.GetEnvironmentVariable("BEACON_TOKEN");
        if (string.IsNullOrWhiteSpace(token))
        {
            using var response = await http.PostAsJsonAsync("/auth/dev/token", new { user = FeedUser }, ct);
            if (response.IsSuccessStatusCode)
            {
                token = (await response.Content.ReadFromJsonAsync<TokenResponse>(ct))?.AccessToken;
            }
        }
        if (!string.IsNullOrWhiteSpace(token))
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return http;
    }

    private sealed record TokenResponse(string AccessToken);
}
