using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;

namespace Beacon.Notifications.Outbound;

/// <summary>Configuration section "Notifications:Webhooks": where a staff member's webhook may point.</summary>
public sealed class WebhookOptions
{
    /// <summary>
    /// Plain http destinations. Off by default: webhook payloads name students. The Development environment
    /// (the local run) allows http regardless.
    /// </summary>
    public bool AllowHttp { get; set; }

    /// <summary>
    /// Host names (or IP literals) an administrator allows even when they resolve to a loopback, private,
    /// link-local or cluster address, for example an on-premises receiver. Compared case-insensitively.
    /// </summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>Extra refused networks in CIDR form, for example the cluster's pod and service ranges when they are not private.</summary>
    public List<string> RefusedNetworks { get; set; } = [];

    /// <summary>An egress proxy (http://host:port) all webhooks go through; empty = direct connections.</summary>
    public string Proxy { get; set; } = "";

    /// <summary>Bytes of a response body read at most (only to report a failure); the rest is never read.</summary>
    public int MaxResponseBytes { get; set; } = 4096;

    /// <summary>Webhook calls per recipient per minute; more wait for a later dispatch round.</summary>
    public int PerUserPerMinute { get; set; } = 30;
}

/// <summary>Thrown inside the connection attempt: the destination is not one a webhook may reach.</summary>
public sealed class WebhookDestinationRefusedException(string message) : Exception(message);

/// <summary>
/// Keeps webhooks from being turned inward (server-side request forgery): a staff member chooses the URL, the
/// request leaves from inside the cluster. The address is checked when the connection is made, after DNS, so a
/// name that resolves (or re-resolves) to an internal address is refused too; a check of the URL when it is saved
/// only gives an early, clear error for IP literals.
/// </summary>
public sealed class WebhookGuard
{
    // Never a webhook destination unless allow-listed: loopback, private (RFC 1918, ULA), link-local (cloud metadata
    // at 169.254.169.254), multicast, "this network", shared address space (often a cluster's range), reserved, and
    // the IPv6 forms that embed an IPv4 address (NAT64) so the IPv4 rules cannot be stepped around.
    private static readonly IPNetwork[] Refused = [.. new[]
    {
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
        "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
        "::/128", "::1/128", "64:ff9b::/96", "64:ff9b:1::/48", "fc00::/7", "fe80::/10", "ff00::/8",
    }.Select(IPNetwork.Parse)];

    private readonly WebhookOptions _options;
    private readonly bool _allowHttp;
    private readonly HashSet<string> _allowedHosts;
    private readonly IPNetwork[] _refused;
    private readonly PartitionedRateLimiter<string> _perUser;

    public WebhookGuard(WebhookOptions options, bool development)
    {
        _options = options;
        _allowHttp = options.AllowHttp || development;
        _allowedHosts = new HashSet<string>(options.AllowedHosts.Select(h => h.Trim().TrimEnd('.')), StringComparer.OrdinalIgnoreCase);
        if (Uri.TryCreate(options.Proxy, UriKind.Absolute, out var proxy))
        {
            // The proxy is chosen by the operator and usually runs inside the cluster; it does the destination check.
            _allowedHosts.Add(proxy.Host);
        }
        _refused = [.. Refused, .. options.RefusedNetworks.Select(IPNetwork.Parse)];
        _perUser = PartitionedRateLimiter.Create<string, string>(staffId => RateLimitPartition.GetFixedWindowLimiter(staffId,
            _ => new FixedWindowRateLimiterOptions { PermitLimit = Math.Max(1, options.PerUserPerMinute), Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
    }

    public WebhookOptions Options => _options;

    /// <summary>Why a URL cannot be saved as a webhook, or null when it may (names are checked again at connect time).</summary>
    public string? ProblemWith(string? url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            return "must be an absolute https URL.";
        }
        if (uri.Scheme == "http" && !_allowHttp)
        {
            return "must use https: webhook payloads name students.";
        }
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            return "must not carry a user name or password; the payload is signed with the webhook secret.";
        }
        if (IPAddress.TryParse(uri.IdnHost, out var address) && !IsAllowed(uri.IdnHost, address))
        {
            return $"'{uri.Host}' is an internal address (loopback, private, link-local, multicast or cluster); an administrator must allow-list it.";
        }
        return null;
    }

    public bool IsAllowed(string host, IPAddress address)
    {
        if (_allowedHosts.Contains(host.TrimEnd('.')))
        {
            return true;
        }
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        return !_refused.Any(n => n.Contains(address));
    }

    /// <summary>Takes one webhook call from the recipient's allowance for this minute.</summary>
    public bool TryAcquire(string staffId)
    {
        using var lease = _perUser.AttemptAcquire(staffId);
        return lease.IsAcquired;
    }

    /// <summary>
    /// The primary handler of the webhook client: no redirects (a 3xx could point inward), no cookies, small header
    /// limit, and a connect callback that resolves the host and connects only to addresses the guard allows.
    /// </summary>
    public SocketsHttpHandler CreateHandler()
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            MaxResponseHeadersLength = 16,   // KiB
            MaxResponseDrainSize = 0,   // an answer not read to its end closes the connection; it is not drained to reuse it
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),   // re-resolve names now and then
            UseProxy = _options.Proxy.Length > 0,
            Proxy = _options.Proxy.Length > 0 ? new WebProxy(_options.Proxy) : null,
            ConnectCallback = ConnectAsync,
        };
        return handler;
    }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, ct);
        var allowed = addresses.Where(a => IsAllowed(host, a)).ToArray();
        if (allowed.Length == 0)
        {
            throw new WebhookDestinationRefusedException(
                $"Webhook destination '{host}' resolves to {string.Join(", ", addresses.Select(a => a.ToString()))}: internal addresses are refused unless an administrator allow-lists the host (Notifications:Webhooks:AllowedHosts).");
        }
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
