namespace Beacon.Gateway.Security;

/// <summary>
/// Browser defences for the dashboard, which keeps a bearer token in the page: a Content-Security-Policy with no
/// inline script or style and no connection anywhere but this gateway (an injected script could neither run nor send
/// the token elsewhere), no framing (clickjacking), no referrer (URLs stay on this site), no MIME sniffing, and
/// HSTS when the request came over TLS (directly or through the Ingress, which terminates it).
/// </summary>
public static class BrowserDefences
{
    /// <summary>The dashboard's files: scripts, styles, images and API calls from this origin only (blob: images are the charts and pictures the page fetched itself).</summary>
    public const string DashboardPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; "
        + "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>API answers are data, never a page: nothing may load from them or frame them.</summary>
    public const string ApiPolicy = "default-src 'none'; frame-ancestors 'none'";

    public static WebApplication UseBrowserDefences(this WebApplication app)
    {
        var hstsMaxAge = (long)app.Configuration.GetValue("Gateway:Hsts:MaxAge", TimeSpan.FromDays(365)).TotalSeconds;
        var headers = new DefenceHeaders(hstsMaxAge);
        // Set as the answer starts, so proxied answers get them too (and a service's own headers cannot weaken them).
        // One callback for every request, given the request as its state: no closure and no state machine per request.
        app.Use((http, next) =>
        {
            http.Response.OnStarting(headers.Apply, http);
            return next(http);
        });
        return app;
    }

    private sealed class DefenceHeaders
    {
        private readonly long hstsMaxAge;
        private readonly string hsts;

        public DefenceHeaders(long hstsMaxAge)
        {
            this.hstsMaxAge = hstsMaxAge;
            hsts = $"max-age={hstsMaxAge}; includeSubDomains";
            Apply = SetHeaders;
        }

        /// <summary>The response-starting callback; its state is the request's <see cref="HttpContext"/>.</summary>
        public Func<object, Task> Apply { get; }

        private Task SetHeaders(object state)
        {
            var http = (HttpContext)state;
            var headers = http.Response.Headers;
            var api = http.Request.Path.StartsWithSegments("/api") || http.Request.Path.StartsWithSegments("/auth");
            headers.ContentSecurityPolicy = api ? ApiPolicy : DashboardPolicy;
            headers.XFrameOptions = "DENY";
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            headers["Cross-Origin-Opener-Policy"] = "same-origin";
            // Behind the Ingress the gateway sees plain http; the forwarded scheme says the browser used TLS. A forged
            // header can only add HSTS to a plain-http answer, which browsers ignore.
            if (hstsMaxAge > 0 && (http.Request.IsHttps
                || string.Equals(http.Request.Headers["X-Forwarded-Proto"].ToString(), "https", StringComparison.OrdinalIgnoreCase)))
            {
                headers.StrictTransportSecurity = hsts;
            }
            return Task.CompletedTask;
        }
    }
}
