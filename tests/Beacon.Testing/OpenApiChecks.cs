using System.Text.Json;
using System.Text.RegularExpressions;
using Beacon.ServiceDefaults;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;

namespace Beacon.Testing;

/// <summary>
/// Checks a service's OpenAPI document against what the service really maps: the document must parse, be
/// served without a token, declare the bearer scheme, and describe every public route (every /api endpoint in
/// the endpoint data source, with its method) with the roles it needs.
/// </summary>
public static partial class OpenApiChecks
{
    public static async Task<JsonElement> FetchAnonymouslyAsync<T>(WebApplicationFactory<T> factory)
        where T : class
    {
        using var anonymous = factory.CreateClient();
        anonymous.DefaultRequestHeaders.Authorization = null;
        using var response = await anonymous.GetAsync(OpenApiExtensions.DocumentPath);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {OpenApiExtensions.DocumentPath} without a token: {(int)response.StatusCode} {text}");
        Assert.StartsWith("application/json", response.Content.Headers.ContentType?.MediaType);

        var read = OpenApiDocument.Parse(text, "json", new OpenApiReaderSettings());
        var errors = read.Diagnostic?.Errors.Select(e => $"{e.Pointer}: {e.Message}").ToList() ?? [];
        Assert.True(errors.Count == 0, "The document is not valid OpenAPI:\n" + string.Join("\n", errors));
        Assert.NotNull(read.Document);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>(method, path template) of every public route the running service maps, constraints removed.</summary>
    public static IReadOnlyList<(string Method, string Path)> PublicRoutes<T>(WebApplicationFactory<T> factory)
        where T : class =>
        factory.Services.GetServices<EndpointDataSource>().SelectMany(s => s.Endpoints).OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.TrimStart('/').StartsWith("api/", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? []).Select(m => (m, Normalize(e.RoutePattern.RawText!))))
            .Distinct().OrderBy(r => r.Item2, StringComparer.Ordinal).ThenBy(r => r.m, StringComparer.Ordinal).ToList();

    /// <summary>The whole check; returns the document for service-specific assertions.</summary>
    public static async Task<JsonElement> AssertDescribesServiceAsync<T>(WebApplicationFactory<T> factory, string expectedPrefix)
        where T : class
    {
        var document = await FetchAnonymouslyAsync(factory);

        var scheme = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer");
        Assert.Equal("http", scheme.GetProperty("type").GetString());
        Assert.Equal("bearer", scheme.GetProperty("scheme").GetString());

        var paths = document.GetProperty("paths");
        var described = paths.EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(op => (Method: op.Name.ToUpperInvariant(), Path: Normalize(p.Name), Operation: op.Value)))
            .ToList();
        var routes = PublicRoutes(factory);
        Assert.NotEmpty(routes);
        Assert.All(routes, r => Assert.StartsWith(expectedPrefix, r.Path));
        var missing = routes.Where(r => !described.Any(d => d.Method == r.Method && d.Path == r.Path)).Select(r => $"{r.Method} {r.Path}").ToList();
        Assert.True(missing.Count == 0, "Public routes missing from the OpenAPI document:\n" + string.Join("\n", missing)
            + "\nDescribed:\n" + string.Join("\n", described.Select(d => $"{d.Method} {d.Path}")));

        // Every operation needs the bearer token and says which roles; none is silently open: an open one says why.
        foreach (var (method, path, operation) in described.Where(d => d.Path.StartsWith("/api/", StringComparison.Ordinal)))
        {
            if (!operation.TryGetProperty("security", out var open) || open.GetArrayLength() == 0)
            {
                var why = operation.TryGetProperty("description", out var w) ? w.GetString() : null;
                Assert.True(why?.StartsWith("Open to anyone: ", StringComparison.Ordinal) == true, $"{method} {path} is open to anyone without saying why: '{why}'");
                continue;
            }
            Assert.True(operation.TryGetProperty("security", out var security) && security.GetArrayLength() > 0
                && security[0].TryGetProperty("Bearer", out _), $"{method} {path} has no bearer security requirement");
            var description = operation.TryGetProperty("description", out var d) ? d.GetString() : null;
            Assert.True(description?.Contains("Requires", StringComparison.Ordinal) == true, $"{method} {path} does not say which role it requires: '{description}'");
            Assert.True(operation.GetProperty("responses").TryGetProperty("401", out _), $"{method} {path} lists no 401");
        }
        return document;
    }

    /// <summary>
    /// Breaking-change guard: every operation (method + path) and every parameter of the document checked in as
    /// docs/openapi/&lt;name&gt;.json must still be in the generated one. Additions pass; a removed or renamed route or
    /// parameter fails with the list. After an intended change: BEACON_UPDATE_OPENAPI=1 dotnet test --filter OpenApi
    /// rewrites the checked-in documents (review the diff, commit it).
    /// </summary>
    public static void AssertNoBreakingChange(JsonElement generated, string name)
    {
        var root = TestEnvironment.RepositoryRoot();
        var file = Path.Combine(root, "docs", "openapi", $"{name}.json");
        var pretty = JsonSerializer.Serialize(generated, new JsonSerializerOptions { WriteIndented = true }) + "\n";
        if (Environment.GetEnvironmentVariable("BEACON_UPDATE_OPENAPI") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllText(file, pretty);
            return;
        }
        Assert.True(File.Exists(file), $"{file} is missing; create it with BEACON_UPDATE_OPENAPI=1 dotnet test --filter OpenApi");
        var before = Operations(JsonDocument.Parse(File.ReadAllText(file)).RootElement);
        var now = Operations(generated);
        var broken = new List<string>();
        foreach (var (operation, parameters) in before)
        {
            if (!now.TryGetValue(operation, out var current))
            {
                broken.Add($"removed: {operation}");
                continue;
            }
            broken.AddRange(parameters.Except(current).Select(p => $"parameter removed or renamed: {operation} {p}"));
        }
        Assert.True(broken.Count == 0, $"Breaking change against {file}:\n" + string.Join("\n", broken)
            + "\nIf intended, update the checked-in document: BEACON_UPDATE_OPENAPI=1 dotnet test --filter OpenApi, and commit docs/openapi.");
    }

    private static Dictionary<string, HashSet<string>> Operations(JsonElement document) =>
        document.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(op => (Key: $"{op.Name.ToUpperInvariant()} {Normalize(p.Name)}", op.Value)))
            .ToDictionary(o => o.Key, o => o.Value.TryGetProperty("parameters", out var ps)
                ? ps.EnumerateArray().Select(x => $"{x.GetProperty("in").GetString()}:{x.GetProperty("name").GetString()}").ToHashSet()
                : []);

    /// <summary>The description of one operation (for role assertions).</summary>
    public static string OperationDescription(JsonElement document, string method, string path) =>
        document.GetProperty("paths").EnumerateObject().First(p => Normalize(p.Name) == path)
            .Value.GetProperty(method.ToLowerInvariant()).GetProperty("description").GetString() ?? "";

    // {alertId:guid} -> {alertid}; {**rest} -> {rest}; transcoding maps {case_id} to the JSON name {caseId}: both -> {caseid}.
    private static string Normalize(string path)
    {
        var p = "/" + path.TrimStart('/');
        return Parameter().Replace(p, m => "{" + m.Groups["name"].Value.Replace("_", "", StringComparison.Ordinal).ToLowerInvariant() + "}");
    }

    [GeneratedRegex(@"\{\**(?<name>[A-Za-z0-9_.]+)(:[^}]*)?\??\}")]
    private static partial Regex Parameter();
}
