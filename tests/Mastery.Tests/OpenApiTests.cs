using Beacon.Testing;

namespace Beacon.Mastery.Tests;

/// <summary>
/// The service's OpenAPI document (served anonymously at /openapi/v1.json) describes every public route it maps,
/// REST and gRPC-transcoded, with the roles each needs, and drops no route or parameter of docs/openapi/mastery.json.
/// </summary>
public sealed class OpenApiTests(ServiceFactory<Program> service) : IClassFixture<ServiceFactory<Program>>
{
    [Fact]
    public async Task The_document_describes_every_public_route_with_its_roles()
    {
        var document = await OpenApiChecks.AssertDescribesServiceAsync(service, "/api/mastery/");
        OpenApiChecks.AssertNoBreakingChange(document, "mastery");
        Assert.Contains("Requires role: administrator (", OpenApiChecks.OperationDescription(document, "PUT", "/api/mastery/v1/skills"));
        Assert.Contains("counselor", OpenApiChecks.OperationDescription(document, "GET", "/api/mastery/v1/students/{studentid}/mastery"));
    }
}
