using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Beacon.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// The provider side of OneRoster REST 1.2 (rostering service) on a real Kestrel server on loopback, as the binding
/// defines it: an OAuth 2.0 client-credentials token endpoint (client authenticated by HTTP Basic, the 1.2 scopes
/// checked), a bearer token checked on every call (401 invalid_token, 403 insufficient_scope), the collections
/// under /ims/oneroster/rostering/v1p2 paged by limit/offset with X-Total-Count and Link (next, last), sorted by
/// sourcedId, and the filter parameter's grammar (field, operator, quoted value; AND). It keeps the requests it
/// served, so a test can see what a pull asked for, and can be told to fail.
/// </summary>
public sealed partial class OneRosterRestProvider : IAsyncDisposable
{
    public const string ClientId = "beacon-connector";
    public const string ClientSecret = "or-secret-2026";
    public const string RosterScope = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly";
    public const string CoreScope = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly";
    public const string DemographicsScope = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-demographics.readonly";
    private const string Root = "/ims/oneroster/rostering/v1p2";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, (DateTimeOffset Expires, string[] Scopes)> _tokens = new();
    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<JsonObject>> _data = [];

    /// <summary>Resource requests served (path and unescaped query), in order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();
    public int TokensIssued => _tokensIssued;
    private int _tokensIssued;

    /// <summary>Link headers on the pages (off: the consumer has only X-Total-Count to page by).</summary>
    public bool SendLinks { get; set; } = true;

    /// <summary>A collection's next requests answered with this status (or "not JSON" with 200 when the status is 0).</summary>
    public ConcurrentDictionary<string, (int Status, int Times)> Failures { get; } = new();

    public string BaseUrl { get; }
    public string TokenUrl => BaseUrl + "/oauth/token";

    private OneRosterRestProvider(WebApplication app, string baseUrl) => (_app, BaseUrl) = (app, baseUrl);

    public static async Task<OneRosterRestProvider> StartAsync()
    {
        var port = FreePort();
        // Its own empty content root: the test folder holds Ingestion's appsettings.json, whose Kestrel endpoints would win.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = TestEnvironment.NewTempDirectory("oneroster-provider") });
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        var provider = new OneRosterRestProvider(app, $"http://127.0.0.1:{port}");
        app.MapPost("/oauth/token", (Delegate)provider.Token);
        app.MapGet(Root + "/{collection}", (Delegate)provider.Collection);
        await app.StartAsync();
        return provider;
    }

    /// <summary>Replaces or adds records (by sourcedId) in a collection.</summary>
    public void Put(string collection, params JsonObject[] records)
    {
        lock (_lock)
        {
            var list = _data.TryGetValue(collection, out var l) ? l : _data[collection] = [];
            foreach (var record in records)
            {
                list.RemoveAll(r => (string?)r["sourcedId"] == (string?)record["sourcedId"]);
                list.Add(record);
            }
        }
    }

    /// <summary>The client secret the token endpoint takes (a test rotates it).</summary>
    public string Secret { get; set; } = ClientSecret;

    /// <summary>Revokes every token issued (the provider restarted, or rotated its keys).</summary>
    public void ForgetTokens() => _tokens.Clear();

    private async Task<IResult> Token(HttpContext context)
    {
        // RFC 6749 2.3.1: client id and secret by HTTP Basic, each form-encoded.
        var header = context.Request.Headers.Authorization.ToString();
        string? id = null, secret = null;
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            var pair = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim())).Split(':', 2);
            (id, secret) = (Uri.UnescapeDataString(pair[0]), pair.Length > 1 ? Uri.UnescapeDataString(pair[1]) : null);
        }
        if (id != ClientId || secret != Secret)
        {
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"oneroster\"";
            return Results.Json(new { error = "invalid_client", error_description = "unknown client or wrong secret" }, statusCode: 401);
        }
        var form = await context.Request.ReadFormAsync();
        if (form["grant_type"] != "client_credentials")
        {
            return Results.Json(new { error = "unsupported_grant_type" }, statusCode: 400);
        }
        var scopes = form["scope"].ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (scopes.Length == 0 || scopes.Any(s => s is not (RosterScope or CoreScope or DemographicsScope)))
        {
            return Results.Json(new { error = "invalid_scope", error_description = $"unknown scope in '{form["scope"]}'" }, statusCode: 400);
        }
        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        _tokens[token] = (DateTimeOffset.UtcNow.AddHours(1), scopes);
        Interlocked.Increment(ref _tokensIssued);
        return Results.Json(new { access_token = token, token_type = "bearer", expires_in = 3600, scope = string.Join(' ', scopes) });
    }

    private IResult Collection(HttpContext context, string collection)
    {
        var request = context.Request;
        var bearer = request.Headers.Authorization.ToString();
        if (!bearer.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || !_tokens.TryGetValue(bearer[7..].Trim(), out var token) || token.Expires < DateTimeOffset.UtcNow)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
            return Results.StatusCode(401);
        }
        var needed = collection == "demographics" ? [DemographicsScope] : new[] { RosterScope, CoreScope };
        if (!token.Scopes.Intersect(needed).Any())
        {
            context.Response.Headers.WWWAuthenticate = "Bearer error=\"insufficient_scope\"";
            return Results.StatusCode(403);
        }
        Requests.Enqueue(request.Path + Uri.UnescapeDataString(request.QueryString.Value ?? ""));
        if (Failures.TryGetValue(collection, out var failure) && failure.Times > 0)
        {
            Failures[collection] = (failure.Status, failure.Times - 1);
            return failure.Status == 0 ? Results.Text("<html>maintenance</html>", "text/html") : Results.StatusCode(failure.Status);
        }
        if (!int.TryParse(request.Query["limit"].FirstOrDefault() ?? "100", NumberStyles.None, CultureInfo.InvariantCulture, out var limit) || limit < 1
            || !int.TryParse(request.Query["offset"].FirstOrDefault() ?? "0", NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
        {
            return Invalid("invalid_selection_field", "limit and offset are non-negative integers");
        }
        List<JsonObject> all;
        lock (_lock)
        {
            all = [.. (_data.GetValueOrDefault(collection) ?? []).OrderBy(r => (string?)r["sourcedId"], StringComparer.Ordinal)];
        }
        if (request.Query["filter"].FirstOrDefault() is { } filter)
        {
            if (Filter(filter) is not { } predicate)
            {
                return Invalid("invalid_filter_field", $"cannot read filter {filter}");
            }
            all = [.. all.Where(predicate)];
        }
        var page = all.Skip(offset).Take(limit).Select(r => r.DeepClone()).ToArray();
        context.Response.Headers["X-Total-Count"] = all.Count.ToString(CultureInfo.InvariantCulture);
        if (SendLinks)
        {
            var query = request.Query.Where(q => q.Key is not ("limit" or "offset")).Select(q => $"&{q.Key}={Uri.EscapeDataString(q.Value.ToString())}");
            string Url(int at) => $"<{BaseUrl}{Root}/{collection}?limit={limit}&offset={at}{string.Concat(query)}>";
            var links = new List<string> { $"{Url(0)}; rel=\"first\"", $"{Url(Math.Max(0, (all.Count - 1) / limit * limit))}; rel=\"last\"" };
            if (offset + limit < all.Count)
            {
                links.Insert(0, $"{Url(offset + limit)}; rel=\"next\"");
            }
            context.Response.Headers.Link = string.Join(", ", links);
        }
        return Results.Json(new JsonObject { [collection] = new JsonArray(page) });
    }

    /// <summary>The binding's filter: &lt;field&gt;&lt;op&gt;'&lt;value&gt;' joined by AND or OR (one kind per filter); dates compared as dates.</summary>
    private static Func<JsonObject, bool>? Filter(string filter)
    {
        var and = !filter.Contains(" OR ", StringComparison.Ordinal);
        var parts = filter.Split(and ? " AND " : " OR ", StringSplitOptions.TrimEntries);
        var predicates = new List<Func<JsonObject, bool>>();
        foreach (var part in parts)
        {
            var m = Predicate().Match(part);
            if (!m.Success)
            {
                return null;
            }
            var (field, op, value) = (m.Groups["field"].Value, m.Groups["op"].Value, m.Groups["value"].Value);
            predicates.Add(record =>
            {
                var actual = record[field]?.ToString();
                if (actual is null)
                {
                    return false;
                }
                var compared = DateTimeOffset.TryParse(actual, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var a)
                    && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var v)
                    ? a.CompareTo(v) : string.CompareOrdinal(actual, value);
                return op switch
                {
                    "=" => compared == 0,
                    "!=" => compared != 0,
                    ">" => compared > 0,
                    ">=" => compared >= 0,
                    "<" => compared < 0,
                    "<=" => compared <= 0,
                    _ => actual.Contains(value, StringComparison.OrdinalIgnoreCase),   // ~ : contains
                };
            });
        }
        return and ? r => predicates.All(p => p(r)) : r => predicates.Any(p => p(r));
    }

    [GeneratedRegex(@"^(?<field>[A-Za-z.]+)(?<op>!=|>=|<=|=|>|<|~)'(?<value>[^']*)'$")]
    private static partial Regex Predicate();

    /// <summary>The binding's error payload (imsx_StatusInfo) with 400.</summary>
    private static IResult Invalid(string codeMinor, string description) => Results.Json(new
    {
        imsx_codeMajor = "failure",
        imsx_severity = "error",
        imsx_description = description,
        imsx_CodeMinor = new { imsx_codeMinorField = new[] { new { imsx_codeMinorFieldName = "TargetEndSystem", imsx_codeMinorFieldValue = codeMinor } } },
    }, statusCode: 400);

    private static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
