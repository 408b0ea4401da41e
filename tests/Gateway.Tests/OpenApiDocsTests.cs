using System.Net;
using System.Text.RegularExpressions;
using Beacon.Testing;

namespace Beacon.Gateway.Tests;

/// <summary>
/// Scalar at /docs lists one document per service, loads its script from the gateway itself (no CDN: browsers
/// here have no internet), and each /openapi/&lt;service&gt;.json reaches that service's /openapi/v1.json
/// without a token.
/// </summary>
public sealed partial class OpenApiDocsTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    [Fact]
    public async Task Docs_page_is_html_lists_every_service_and_needs_nothing_from_the_internet()
    {
        using var anonymous = fixture.Gateway.CreateClientAs(null);
        using var response = await anonymous.GetAsync("/docs");
        var html = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        foreach (var (name, _) in ApiDocs.Services)
        {
            // Scalar resolves it against the gateway's root: /openapi/<name>.json, the YARP route.
            Assert.Contains($"\"url\":\"openapi/{name}.json\"", html);
        }

        var scripts = ScriptSource().Matches(html).Select(m => m.Groups["src"].Value).ToList();
        Assert.NotEmpty(scripts);
        foreach (var src in scripts)
        {
            Assert.False(src.StartsWith("http", StringComparison.OrdinalIgnoreCase) || src.StartsWith("//", StringComparison.Ordinal),
                $"/docs loads a script from outside the gateway: {src}");
            using var script = await anonymous.GetAsync(new Uri(new Uri("http://localhost/docs/"), src));
            Assert.Equal(HttpStatusCode.OK, script.StatusCode);
            Assert.Contains("javascript", script.Content.Headers.ContentType?.MediaType);
        }
        Assert.Contains("\"withDefaultFonts\":false", html);
        using var bundle = await anonymous.GetAsync("/docs/scalar.js");
        Assert.True((await bundle.Content.ReadAsByteArrayAsync()).Length > 500_000, "scalar.js is not the full Scalar bundle");
    }

    [Theory]
    [InlineData("ingestion")]
    [InlineData("mastery")]
    [InlineData("early-warning")]
    [InlineData("interventions")]
    [InlineData("notifications")]
    public async Task Each_service_document_is_proxied_without_a_token(string service)
    {
        var before = fixture.Backend.Count("/openapi/v1.json");
        using var anonymous = fixture.Gateway.CreateClientAs(null);
        using var response = await anonymous.GetAsync($"/openapi/{service}.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(before + 1, fixture.Backend.Count("/openapi/v1.json"));
    }

    [Fact]
    public async Task Only_the_documents_are_open_the_rest_of_openapi_is_not_routed()
    {
        using var anonymous = fixture.Gateway.CreateClientAs(null);
        using var response = await anonymous.GetAsync("/openapi/v1.json");
        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
    }

    [GeneratedRegex("<script[^>]*\\ssrc=\"(?<src>[^\"]+)\"", RegexOptions.IgnoreCase)]
    private static partial Regex ScriptSource();
}
