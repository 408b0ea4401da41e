using Beacon.Testing;

namespace Beacon.Notifications.Tests;

/// <summary>
/// The service's OpenAPI document (served anonymously at /openapi/v1.json) describes every public route it maps,
/// REST and gRPC-transcoded, with the roles each needs, and drops no route or parameter of docs/openapi/notifications.json.
/// </summary>
public sealed class OpenApiTests(ServiceFactory<Program> service) : IClassFixture<ServiceFactory<Program>>
{
    [Fact]
    public async Task The_document_describes_every_public_route_with_its_roles()
    {
        var document = await OpenApiChecks.AssertDescribesServiceAsync(service, "/api/notifications/");
        OpenApiChecks.AssertNoBreakingChange(document, "notifications");
        Assert.Contains("Requires role: administrator or ops (", OpenApiChecks.OperationDescription(document, "GET", "/api/notifications/v1/dead-letters"));
        Assert.Contains("themself", OpenApiChecks.OperationDescription(document, "GET", "/api/notifications/v1/staff/{staffid}/preferences"));
    }
}
