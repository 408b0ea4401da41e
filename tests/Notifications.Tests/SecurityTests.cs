using System.Net;
using Beacon.Testing;

namespace Beacon.Notifications.Tests;

/// <summary>
/// A staff member's feed and preferences are theirs alone (administrators excepted), on the service
/// itself; dead letters are for ops. The live stream takes its token in the query (EventSource cannot
/// send headers) and refuses a call without one.
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
    public async Task The_live_stream_takes_its_token_from_the_query_and_refuses_other_callers()
    {
        using var client = service.CreateClientAs(null);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using (var anonymous = await client.GetAsync($"{Feed}/feed/stream", HttpCompletionOption.ResponseHeadersRead, cancel.Token))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }
        using (var other = await client.GetAsync($"{Feed}/feed/stream?access_token={Callers.Token("counselor-other")}", HttpCompletionOption.ResponseHeadersRead, cancel.Token))
        {
            Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        }
        using var own = await client.GetAsync($"{Feed}/feed/stream?access_token={Callers.Token("counselor")}", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.Equal("text/event-stream", own.Content.Headers.ContentType?.MediaType);
    }
}
