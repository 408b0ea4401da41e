using Beacon.Testing;

namespace Beacon.EarlyWarning.Tests;

/// <summary>
/// The service's OpenAPI document (served anonymously at /openapi/v1.json) describes every public route it maps,
/// REST and gRPC-transcoded, with the roles each needs, and drops no route or parameter of docs/openapi/early-warning.json.
/// </summary>
public sealed class OpenApiTests(ServiceFactory<Program> service) : IClassFixture<ServiceFactory<Program>>
{
    [Fact]
    public async Task The_document_describes_every_public_route_with_its_roles()
    {
        var document = await OpenApiChecks.AssertDescribesServiceAsync(service, "/api/early-warning/");
        OpenApiChecks.AssertNoBreakingChange(document, "early-warning");
        Assert.Contains("Requires role: administrator or ops (", OpenApiChecks.OperationDescription(document, "GET", "/api/early-warning/v1/monitoring/drift"));
        Assert.Contains("counselor", OpenApiChecks.OperationDescription(document, "GET", "/api/early-warning/v1/alerts"));
    }
}
