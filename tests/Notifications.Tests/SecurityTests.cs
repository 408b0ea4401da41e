using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Testing;

namespace Beacon.Notifications.Tests;

/// <summary>
/// A staff member's feed and preferences are theirs alone (administrators excepted), on the service
/// itself; dead letters are for ops. The live stream takes a single-use ticket (EventSource cannot
/// send headers; a token in the URL would be logged) and refuses a call without one.
/// </summary>
public sealed class SecurityTests(ServiceFactory<Program> service) : IClassFixture<ServiceFactory<Program>>
{
    private const string Feed = $"/api/notifications/v1/staff/{Callers.CounselorId}";

    public static TheoryData<string, string, string, int> Rules => new()
    {
        // The API description is documentation, not data: anyone may read it (OpenApiExtensions.MapDefaultOpenApi).
        { "GET", "/openapi/v1.json", "none", 200 },
        { "GET", $"{Feed}/feed", "none", 401 },
        { "GET", $"{Feed}/feed", "expired", 401 },
        { "GET", $"{Feed}/feed", "forged", 401 },
        { "GET", $"{Feed}/feed", "counselor", 200 },
        { "GET", $"{Feed}/feed", "counselor-other", 404 },
        { "GET", $"{Feed}/feed", "coordinator", 404 },
        { "GET", $"{Feed}/feed", "ops", 404 },
        { "GET", $"{Feed}/feed", "admin", 200 },
        { "GET", $"{Feed}/preferences", "counselor", 200 },
        { "GET", $"{Feed}/preferences", "counselor-other", 404 },
        { "PUT", $"{Feed}/preferences", "counselor-other", 404 },
        { "POST", $"{Feed}/feed/{Guid.Empty}/read", "feed", 404 },
        { "GET", "/api/notifications/v1/dead-letters", "counselor", 403 },
        { "GET", "/api/notifications/v1/dead-letters", "ops", 200 },
        { "POST", $"/api/notifications/v1/dead-letters/{Guid.Empty}/redrive", "coordinator", 403 },
        { "GET", "/api/notifications/v1/ops/alarms", "none", 401 },
        { "GET", "/api/notifications/v1/ops/alarms", "counselor", 403 },
        { "GET", "/api/notifications/v1/ops/alarms", "feed", 403 },
        { "GET", "/api/notifications/v1/ops/alarms", "ops", 200 },
        { "POST", $"/api/notifications/v1/ops/alarms/{Guid.Empty}/acknowledge", "coordinator", 403 },
        { "POST", "/api/notifications/v1/retention/run", "none", 401 },
        { "POST", "/api/notifications/v1/retention/run", "counselor", 403 },
        { "POST", "/api/notifications/v1/retention/run", "ops", 403 },
        { "POST", "/api/notifications/v1/retention/run", "feed", 403 },
        { "POST", "/api/notifications/v1/retention/run", "admin", 200 },
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public async Task Each_endpoint_admits_only_its_callers(string method, string path, string who, int expected)
    {
        using var client = service.CreateClientAs(null);
        await Callers.AssertAsync(client, method, path, who, expected);
    }

    [Fact]
    public async Task The_live_stream_opens_with_a_single_use_ticket_for_its_own_stream_and_never_with_a_token_in_the_url()
    {
        using var client = service.CreateClientAs(null);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        async Task<HttpStatusCode> OpenAsync(string query)
        {
            using var response = await client.GetAsync($"{Feed}/feed/stream{query}", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
            return response.StatusCode;
        }
        async Task<string> TicketAsync(string who, string staffId)
        {
            using var asker = service.CreateClientAs(Callers.Token(who));
            using var response = await asker.PostAsync($"/api/notifications/v1/staff/{staffId}/feed/stream-ticket", null, cancel.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JsonElement>(cancel.Token)).GetProperty("ticket").GetString()!;
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await OpenAsync(""));
        // The old way: a bearer token in the query is no longer read.
        Assert.Equal(HttpStatusCode.Unauthorized, await OpenAsync($"?access_token={Callers.Token("counselor")}"));
        Assert.Equal(HttpStatusCode.Unauthorized, await OpenAsync("?ticket=not-a-ticket"));
        // Someone else's ticket (for their own stream) does not open this one.
        Assert.Equal(HttpStatusCode.Unauthorized, await OpenAsync($"?ticket={await TicketAsync("counselor-other", Callers.OtherCounselorId)}"));
        using (var asker = service.CreateClientAs(Callers.Token("counselor-other")))
        using (var refused = await asker.PostAsync($"{Feed}/feed/stream-ticket", null, cancel.Token))
        {
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        }

        var ticket = await TicketAsync("counselor", Callers.CounselorId);
        using (var own = await client.GetAsync($"{Feed}/feed/stream?ticket={ticket}", HttpCompletionOption.ResponseHeadersRead, cancel.Token))
        {
            Assert.Equal(HttpStatusCode.OK, own.StatusCode);
            Assert.Equal("text/event-stream", own.Content.Headers.ContentType?.MediaType);
        }
        Assert.Equal(HttpStatusCode.Unauthorized, await OpenAsync($"?ticket={ticket}"));
        // An administrator may open anyone's stream, with their own ticket.
        Assert.Equal(HttpStatusCode.OK, await OpenAsync($"?ticket={await TicketAsync("admin", Callers.CounselorId)}"));
    }
}
