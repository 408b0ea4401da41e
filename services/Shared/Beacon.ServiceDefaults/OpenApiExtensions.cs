using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.OpenApi;

namespace Beacon.ServiceDefaults;

public static class OpenApiExtensions
{
    /// <summary>Where every service serves its OpenAPI document; the gateway proxies it as <c>/openapi/&lt;service&gt;.json</c>.</summary>
    public const string DocumentPath = "/openapi/v1.json";

    /// <summary>
    /// The built-in OpenAPI document of the service, with the bearer scheme, the roles each operation needs and
    /// problem-details errors.
    /// </summary>
    public static IHostApplicationBuilder AddDefaultOpenApi(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOpenApi(o =>
        {
            o.AddDocumentTransformer(new BearerDocumentTransformer(builder.Environment.ApplicationName));
            o.AddOperationTransformer<AuthorizationOperationTransformer>();
        });
        return builder;
    }

    /// <summary>
    /// Serves the document anonymously: it describes routes and shapes, never data, and Scalar in the gateway
    /// fetches it before anyone has signed in. Every operation in it still needs its token.
    /// </summary>
    public static WebApplication MapDefaultOpenApi(this WebApplication app)
    {
        app.MapOpenApi(DocumentPath).AllowAnonymous().ExcludeFromDescription();
        return app;
    }
}

/// <summary>Names the document after the service and declares the bearer scheme every operation uses.</summary>
internal sealed class BearerDocumentTransformer(string service) : IOpenApiDocumentTransformer
{
    public const string Scheme = "Bearer";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = $"Beacon {service}",
            Version = "v1",
            Description = "Every operation needs a bearer token (JWT) from the district's identity provider, or, in a local run, "
                + "from the gateway's development issuer (POST /auth/dev/token). Errors are RFC 9457 problem details.",
        };
        // The gateway serves every document at its own address; the service's address would not be reachable.
        document.Servers = [];
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[Scheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT",
            Description = "A Beacon access token: claims sub, role, school.",
        };
        return Task.CompletedTask;
    }
}

/// <summary>
/// Per operation: the bearer requirement, the roles its authorization policies admit ("Requires role: ..."),
/// 401/403, and a problem-details 400; anonymous operations get none of these.
/// </summary>
internal sealed class AuthorizationOperationTransformer(IAuthorizationPolicyProvider policies) : IOpenApiOperationTransformer
{
    private const string ProblemSchema = "ValidationProblemDetails";

    public async Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        if (metadata.OfType<IAllowAnonymous>().Any())
        {
            operation.Security = [];
            return;
        }
        var requirement = await RequirementAsync(metadata);
        operation.Description = string.IsNullOrEmpty(operation.Description) ? requirement : $"{operation.Description}\n\n{requirement}";
        operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerDocumentTransformer.Scheme, context.Document)] = [] }];
        operation.Responses ??= [];
        operation.Responses.TryAdd("401", new OpenApiResponse { Description = "No valid bearer token." });
        operation.Responses.TryAdd("403", new OpenApiResponse { Description = "The token holds none of the roles this operation requires." });

        if (context.Document is { } document && !operation.Responses.ContainsKey("400"))
        {
            // Every Beacon endpoint answers bad input with a problem whose errors name the field.
            document.Components ??= new OpenApiComponents();
            if (document.Components.Schemas?.ContainsKey(ProblemSchema) != true)
            {
                document.AddComponent(ProblemSchema, await context.GetOrCreateSchemaAsync(typeof(HttpValidationProblemDetails), null, cancellationToken));
            }
            operation.Responses["400"] = new OpenApiResponse
            {
                Description = "Invalid request: problem details (RFC 9457) whose errors name each field; nothing was changed.",
                Content = new Dictionary<string, OpenApiMediaType> { ["application/problem+json"] = new() { Schema = new OpenApiSchemaReference(ProblemSchema, document) } },
            };
        }
    }

    /// <summary>Every policy on the endpoint must pass, so the roles that may call are those all of them admit.</summary>
    private async Task<string> RequirementAsync(IList<object> metadata)
    {
        var named = metadata.OfType<IAuthorizeData>().Select(a => a.Policy).OfType<string>().Distinct().ToList();
        var all = new List<AuthorizationPolicy>();
        foreach (var name in named)
        {
            if (await policies.GetPolicyAsync(name) is { } policy)
            {
                all.Add(policy);
            }
        }
        all.AddRange(metadata.OfType<AuthorizationPolicy>());
        HashSet<string>? roles = null;
        foreach (var allowed in all.SelectMany(p => p.Requirements.OfType<Microsoft.AspNetCore.Authorization.Infrastructure.RolesAuthorizationRequirement>()))
        {
            roles = roles is null ? [.. allowed.AllowedRoles] : [.. roles.Intersect(allowed.AllowedRoles)];
        }
        var policyNote = named.Count == 0 ? "" : $" (policy {string.Join(" + ", named)})";
        return roles is null
            ? "Requires a signed-in caller (any role)."
            : $"Requires role: {string.Join(" or ", roles.Order(StringComparer.Ordinal))}{policyNote}.";
    }
}
