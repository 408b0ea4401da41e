using Beacon.Testing;

namespace Beacon.Interventions.Tests;

/// <summary>
/// The service's OpenAPI document (served anonymously at /openapi/v1.json) describes every public route it maps,
/// REST and gRPC-transcoded, with the roles each needs, and drops no route or parameter of docs/openapi/interventions.json.
/// </summary>
public sealed class OpenApiTests(ServiceFactory<Program> service) : IClassFixture<ServiceFactory<Program>>
{
    [Fact]
    public async Task The_document_describes_every_public_route_with_its_roles()
    {
        var document = await OpenApiChecks.AssertDescribesServiceAsync(service, "/api/interventions/");
        OpenApiChecks.AssertNoBreakingChange(document, "interventions");
        Assert.Contains("coordinator", OpenApiChecks.OperationDescription(document, "POST", "/api/interventions/v1/assignments"));
        Assert.DoesNotContain("counselor", OpenApiChecks.OperationDescription(document, "POST", "/api/interventions/v1/assignments"));
        Assert.Contains("counselor", OpenApiChecks.OperationDescription(document, "POST", "/api/interventions/v1/cases"));
    }
}
