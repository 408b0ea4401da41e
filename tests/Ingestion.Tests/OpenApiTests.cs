using Beacon.Testing;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// The service's OpenAPI document (served anonymously at /openapi/v1.json) describes every public route it maps,
/// REST and gRPC-transcoded, with the roles each needs, and drops no route or parameter of docs/openapi/ingestion.json.
/// </summary>
public sealed class OpenApiTests(ServiceFactory<Program> service) : IClassFixture<ServiceFactory<Program>>
{
    [Fact]
    public async Task The_document_describes_every_public_route_with_its_roles()
    {
        var document = await OpenApiChecks.AssertDescribesServiceAsync(service, "/api/ingestion/");
        OpenApiChecks.AssertNoBreakingChange(document, "ingestion");
        Assert.Contains("feed", OpenApiChecks.OperationDescription(document, "POST", "/api/ingestion/v1/attendance"));
        Assert.DoesNotContain("counselor", OpenApiChecks.OperationDescription(document, "POST", "/api/ingestion/v1/attendance"));
        Assert.Contains("Requires role: administrator (", OpenApiChecks.OperationDescription(document, "GET", "/api/ingestion/v1/quarantine"));
    }
}
