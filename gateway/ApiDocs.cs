using Scalar.AspNetCore;

namespace Beacon.Gateway;

/// <summary>
/// API documentation for people: Scalar at /docs, listing one OpenAPI document per service. The documents
/// are the services' own (/openapi/v1.json), proxied by YARP as /openapi/&lt;service&gt;.json (routes in
/// appsettings.json), so they always describe the running version. Scalar's script is served from the
/// package itself, and the CDN fonts and cloud features are off: the page works without internet access.
/// </summary>
public static class ApiDocs
{
    public const string Path = "/docs";

    /// <summary>Document name (the gateway route /openapi/{name}.json) and title, in the order shown.</summary>
    public static readonly IReadOnlyList<(string Name, string Title)> Services =
    [
        ("ingestion", "Ingestion"),
        ("mastery", "Mastery"),
        ("early-warning", "Early warning"),
        ("interventions", "Interventions"),
        ("notifications", "Notifications"),
    ];

    public static WebApplication MapApiDocs(this WebApplication app)
    {
        app.MapScalarApiReference(Path, o =>
        {
            o.WithTitle("Beacon API")
                .WithOpenApiRoutePattern("/openapi/{documentName}.json")
                .DisableDefaultFonts()
                // The AI agent, MCP and developer toolbar talk to Scalar's cloud: nothing for a school's network.
                .DisableAgent()
                .DisableMcp()
                .HideDeveloperTools()
                .AddPreferredSecuritySchemes("Bearer");
            foreach (var (name, title) in Services)
            {
                o.AddDocument(name, title);
            }
        }).AllowAnonymous();
        return app;
    }
}
