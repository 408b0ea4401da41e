using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Beacon.Ingestion.Intake;

/// <summary>
/// The OneRoster REST connectors' settings (section OneRosterRest): the section itself is the first connector ("default"),
/// and Connectors adds one per further provider (a district with one SIS for its elementary schools and another for its
/// high schools). Each connector has its own name, URLs, credentials, schedule, token and high-water mark, and runs as a
/// scheduled job of its own; each is off unless Enabled. Retries and timeouts are the section's, for every connector.
/// </summary>
public sealed class OneRosterRestOptions
{
    public const string Section = "OneRosterRest";
    public const string DefaultConnector = "default";

    public bool Enabled { get; set; }

    /// <summary>The connector's name: its high-water mark and last run are kept under it.</summary>
    public string Connector { get; set; } = DefaultConnector;

    /// <summary>Further providers, each a connector of its own with a distinct name (their own Connectors are not read).</summary>
    public List<OneRosterRestOptions> Connectors { get; set; } = [];

    /// <summary>The connector's scheduled job: "oneroster-rest-pull" for the default one (as before there were several), else suffixed by its name.</summary>
    public string Job => Connector == DefaultConnector ? OneRosterRestPull.Job : $"{OneRosterRestPull.Job}-{Connector}";

    /// <summary>Every connector configured (the section's own first), whether enabled or not.</summary>
    public IReadOnlyList<OneRosterRestOptions> All() => [this, .. Connectors];

    /// <summary>The connector named so, or null.</summary>
    public OneRosterRestOptions? Named(string connector) => All().FirstOrDefault(c => c.Connector == connector);

    /// <summary>What is wrong with the connectors' names, for the start-up check (a shared name would share a high-water mark).</summary>
    public IEnumerable<string> Problems()
    {
        foreach (var c in Connectors.Where(c => string.IsNullOrWhiteSpace(c.Connector) || c.Connector == DefaultConnector))
        {
            yield return $"OneRosterRest:Connectors[{Connectors.IndexOf(c)}] needs a Connector name of its own (not empty, not '{DefaultConnector}').";
        }
        foreach (var name in All().GroupBy(c => c.Connector).Where(g => g.Count() > 1).Select(g => g.Key))
        {
            yield return $"OneRosterRest: two connectors are named '{name}'; each keeps its high-water mark under its name, so names must differ.";
        }
        foreach (var c in All().Where(c => c.Connector.Any(ch => !(char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' or '.'))))
        {
            yield return $"OneRosterRest: connector name '{c.Connector}' may use letters, digits, '-', '_' and '.' only (it names a job in URLs).";
        }
    }

    /// <summary>The provider's base URL; /ims/oneroster/rostering/v1p2 is appended unless it already ends with it.</summary>
    public string? BaseUrl { get; set; }
    public string? TokenUrl { get; set; }
    public string? ClientId { get; set; }
    public string? ClientSecret { get; set; }

    /// <summary>OneRoster 1.2's scopes for reading the rostering service and demographics.</summary>
    public string Scope { get; set; } =
        "https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly https://purl.imsglobal.org/spec/or/v1p2/scope/roster-demographics.readonly";

    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How often a replica looks whether a pull is due (also how soon "run now" starts).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);
    public int PageSize { get; set; } = 100;

    /// <summary>A collection larger than this is refused rather than held in memory (a provider paging in circles).</summary>
    public int MaxRecords { get; set; } = 500_000;

    /// <summary>The source name batches and quarantined rows carry.</summary>
    public string Source { get; set; } = "oneroster-rest";

    /// <summary>Retries of a transient failure (5xx, 408, 429, timeouts) by the standard resilience handler.</summary>
    public int Retries { get; set; } = 3;
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(2);
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public Uri RosteringBase()
    {
        const string Path = "/ims/oneroster/rostering/v1p2";
        var url = (BaseUrl ?? throw new OneRosterPullException($"OneRoster REST connector '{Connector}': BaseUrl is not set.")).TrimEnd('/');
        return new Uri((url.EndsWith(Path, StringComparison.OrdinalIgnoreCase) ? url : url + Path) + "/");
    }
}

/// <summary>Why a pull failed, worded for ops; nothing of that pull is applied.</summary>
public sealed class OneRosterPullException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>What one pull fetched: the CSV-equivalent tables, records per collection, the newest dateLastModified.</summary>
public sealed record OneRosterPulled(Dictionary<string, OneRosterImport.Table> Tables, Dictionary<string, int> Fetched, DateTimeOffset? NewestModified, string? Filter);

/// <summary>
/// The consumer side of OneRoster REST 1.2 (rostering service): OAuth 2.0 client credentials (client id and secret by
/// HTTP Basic at the token endpoint, the 1.2 scopes; the token reused until shortly before it expires), every
/// collection read whole page by page (limit/offset; the next page from Link rel="next", else from X-Total-Count,
/// else until a short page), and filter=dateLastModified&gt;'…' after the first pull. Transient failures are retried
/// by the HTTP client's standard resilience handler; anything else fails the pull with the reason.
/// </summary>
public sealed class OneRosterRestClient(IHttpClientFactory http, OneRosterTokens tokens, IOptions<OneRosterRestOptions> options)
{
    public const string ClientName = "oneroster-rest";

    /// <param name="o">The connector pulled (its URLs, credentials and page size).</param>
    public async Task<OneRosterPulled> PullAsync(OneRosterRestOptions o, DateTimeOffset? since, CancellationToken ct)
    {
        var root = o.RosteringBase();
        // The spec's filter grammar: field, operator, value in single quotes; a date-time in ISO 8601 UTC.
        var filter = since is { } mark ? $"dateLastModified>'{mark.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)}'" : null;
        var tables = new Dictionary<string, OneRosterImport.Table>(StringComparer.OrdinalIgnoreCase);
        var fetched = new Dictionary<string, int>();
        var roles = new OneRosterImport.Table("users.roles", []);
        DateTimeOffset? newest = null;
        using var client = http.CreateClient(ClientName);
        foreach (var (collection, file) in OneRosterRestRows.Collections)
        {
            var table = new OneRosterImport.Table(collection, []);
            await foreach (var record in ReadAllAsync(client, root, collection, filter, o, ct))
            {
                table.Rows.Add((table.Rows.Count, OneRosterRestRows.Row(record)));
                if (collection == "users")
                {
                    roles.Rows.AddRange(OneRosterRestRows.RolesOf(record).Select(r => (roles.Rows.Count, r)));
                }
                if (OneRosterRestRows.LastModified(record) is { } modified && (newest is null || modified > newest))
                {
                    newest = modified;
                }
            }
            tables[file] = table;
            fetched[collection] = table.Rows.Count;
        }
        tables["roles.csv"] = roles;
        return new OneRosterPulled(tables, fetched, newest, filter);
    }

    private async IAsyncEnumerable<JsonElement> ReadAllAsync(HttpClient client, Uri root, string collection, string? filter, OneRosterRestOptions o,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var limit = Math.Clamp(o.PageSize, 1, 10_000);
        var offset = 0;
        var query = $"limit={limit}&offset=0" + (filter is null ? "" : "&filter=" + Uri.EscapeDataString(filter));
        Uri? next = new(root, $"{collection}?{query}");
        var seen = 0;
        while (next is not null)
        {
            using var document = await GetPageAsync(client, o, next, ct);
            if (document.Root.ValueKind != JsonValueKind.Object || !document.Root.TryGetProperty(collection, out var records) || records.ValueKind != JsonValueKind.Array)
            {
                throw new OneRosterPullException($"GET {Show(next)}: the answer has no \"{collection}\" array, so it is not a OneRoster {collection} page.");
            }
            var count = records.GetArrayLength();
            seen += count;
            if (seen > o.MaxRecords)
            {
                throw new OneRosterPullException($"GET {Show(next)}: more than {o.MaxRecords} {collection}; raise OneRosterRest:MaxRecords if that is right.");
            }
            foreach (var record in records.EnumerateArray())
            {
                yield return record.Clone();
            }
            offset += count;
            next = NextPage(document, root, next, collection, limit, offset, count, query);
        }
    }

    /// <summary>Link rel="next" when the provider sends one (same host only: the bearer token goes with it), else X-Total-Count, else a full page.</summary>
    private static Uri? NextPage(Page page, Uri root, Uri current, string collection, int limit, int offset, int count, string query)
    {
        if (count == 0)
        {
            return null;
        }
        if (page.Link is { } link && LinkNext(link) is { } href)
        {
            var uri = new Uri(current, href);
            if (uri.Host != root.Host || uri.Port != root.Port || uri.Scheme != root.Scheme)
            {
                throw new OneRosterPullException($"GET {Show(current)}: Link rel=\"next\" points to another server ({uri.Host}); the token is not sent there.");
            }
            return uri;
        }
        var more = page.TotalCount is { } total ? offset < total : count >= limit;
        return more ? new Uri(root, $"{collection}?{query.Replace("offset=0", $"offset={offset}", StringComparison.Ordinal)}") : null;
    }

    /// <summary>RFC 8288: &lt;url&gt;; rel="next", possibly among others, comma-separated.</summary>
    private static string? LinkNext(string header) =>
        header.Split(',').Select(part => part.Split(';', StringSplitOptions.TrimEntries))
            .Where(p => p.Length > 1 && p.Skip(1).Any(a => a.Replace(" ", "").Replace("\"", "").Equals("rel=next", StringComparison.OrdinalIgnoreCase)))
            .Select(p => p[0].Trim('<', '>', ' ')).FirstOrDefault();

    private sealed class Page(JsonDocument document, string? link, int? totalCount) : IDisposable
    {
        public JsonElement Root => document.RootElement;
        public string? Link { get; } = link;
        public int? TotalCount { get; } = totalCount;
        public void Dispose() => document.Dispose();
    }

    private async Task<Page> GetPageAsync(HttpClient client, OneRosterRestOptions o, Uri url, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await tokens.GetAsync(client, o, ct));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
        }
        catch (Exception e) when (e is HttpRequestException or TimeoutException or Polly.Timeout.TimeoutRejectedException or Polly.CircuitBreaker.BrokenCircuitException)
        {
            throw new OneRosterPullException($"GET {Show(url)}: the provider could not be reached ({e.Message}).", e);
        }
        using (response)
        {
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                // A token the provider no longer takes (revoked, scope withdrawn): the next pull asks for a new one.
                tokens.Forget(o.Connector);
                throw new OneRosterPullException($"GET {Show(url)}: the provider refused the access token ({(int)response.StatusCode} {response.ReasonPhrase}).");
            }
            if (!response.IsSuccessStatusCode)
            {
                throw new OneRosterPullException($"GET {Show(url)}: the provider answered {(int)response.StatusCode} {response.ReasonPhrase} (after {options.Value.Retries} retries).");
            }
            var body = await response.Content.ReadAsByteArrayAsync(ct);
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(body);
            }
            catch (JsonException e)
            {
                throw new OneRosterPullException($"GET {Show(url)}: the answer is not JSON ({e.Message}).", e);
            }
            var total = response.Headers.TryGetValues("X-Total-Count", out var values)
                && int.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var t) ? t : (int?)null;
            var link = response.Headers.TryGetValues("Link", out var links) ? string.Join(',', links) : null;
            return new Page(document, link, total);
        }
    }

    /// <summary>A URL for a message: path and query, no host (the host is in the configuration).</summary>
    internal static string Show(Uri url) => Uri.UnescapeDataString(url.PathAndQuery);
}

/// <summary>
/// Each connector's access token, shared by every pull of that connector on this replica and reused until 30 s (or a tenth of its life, when that is
/// shorter) before it expires, as OAuth 2.0 client credentials intend: one token request per token, not per call.
/// </summary>
public sealed class OneRosterTokens(TimeProvider clock)
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string Token, DateTimeOffset RenewAt)> _current = new(StringComparer.Ordinal);

    /// <summary>Token requests made (ops and tests: a token reused is not asked for again).</summary>
    public int Requested { get; private set; }

    public void Forget(string connector) => _current.TryRemove(connector, out _);

    public async Task<string> GetAsync(HttpClient client, OneRosterRestOptions o, CancellationToken ct)
    {
        if (_current.TryGetValue(o.Connector, out var held) && clock.GetUtcNow() < held.RenewAt)
        {
            return held.Token;
        }
        await _lock.WaitAsync(ct);
        try
        {
            if (_current.TryGetValue(o.Connector, out var again) && clock.GetUtcNow() < again.RenewAt)
            {
                return again.Token;
            }
            if (string.IsNullOrEmpty(o.TokenUrl) || string.IsNullOrEmpty(o.ClientId) || string.IsNullOrEmpty(o.ClientSecret))
            {
                throw new OneRosterPullException($"OneRoster REST connector '{o.Connector}': TokenUrl, ClientId and ClientSecret must all be set.");
            }
            var url = new Uri(o.TokenUrl);
            using var request = new HttpRequestMessage(HttpMethod.Post, url)
            {
                Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = o.Scope }),
            };
            // RFC 6749 2.3.1: the client authenticates with HTTP Basic, id and secret form-encoded first.
            var basic = $"{Uri.EscapeDataString(o.ClientId)}:{Uri.EscapeDataString(o.ClientSecret)}";
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(basic)));
            Requested++;
            HttpResponseMessage response;
            try
            {
                response = await client.SendAsync(request, ct);
            }
            catch (Exception e) when (e is HttpRequestException or TimeoutException or Polly.Timeout.TimeoutRejectedException or Polly.CircuitBreaker.BrokenCircuitException)
            {
                throw new OneRosterPullException($"token endpoint {url.AbsolutePath}: could not be reached ({e.Message}).", e);
            }
            using (response)
            {
                var body = await response.Content.ReadAsStringAsync(ct);
                JsonElement answer = default;
                try
                {
                    answer = JsonDocument.Parse(body).RootElement;
                }
                catch (JsonException) when (!response.IsSuccessStatusCode)
                {
                }
                catch (JsonException e)
                {
                    throw new OneRosterPullException($"token endpoint {url.AbsolutePath}: the answer is not JSON ({e.Message}).", e);
                }
                if (!response.IsSuccessStatusCode)
                {
                    var error = answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty("error", out var e) ? $": {e}" : "";
                    var detail = answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty("error_description", out var d) ? $" ({d})" : "";
                    throw new OneRosterPullException($"token endpoint {url.AbsolutePath} refused the client credentials ({(int)response.StatusCode} {response.ReasonPhrase}{error}{detail}).");
                }
                if (answer.ValueKind != JsonValueKind.Object || !answer.TryGetProperty("access_token", out var token) || token.GetString() is not { Length: > 0 } value)
                {
                    throw new OneRosterPullException($"token endpoint {url.AbsolutePath}: the answer has no access_token.");
                }
                var life = answer.TryGetProperty("expires_in", out var expires) && expires.TryGetInt32(out var seconds) ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromMinutes(5);
                var margin = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(30).Ticks, life.Ticks / 10));
                _current[o.Connector] = (value, clock.GetUtcNow() + life - margin);
                return value;
            }
        }
        finally
        {
            _lock.Release();
        }
    }
}
