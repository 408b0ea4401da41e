using System.Diagnostics;
using System.Threading.RateLimiting;
using Beacon.ServiceDefaults;

namespace Beacon.Gateway.Security;

/// <summary>Correlation ids: one id per request, kept if the caller sent a sane one, returned and forwarded.</summary>
public static class Correlation
{
    public const string Header = "X-Correlation-Id";

    public static WebApplication UseCorrelationId(this WebApplication app)
    {
        // Not async: nothing happens after the rest of the pipeline, so no state machine is built per request.
        app.Use((http, next) =>
        {
            var id = http.Request.Headers[Header].ToString();
            if (id.Length is 0 or > 64 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                id = Activity.Current?.TraceId.ToString() ?? Guid.NewGuid().ToString("N");
            }
            http.Request.Headers[Header] = id;
            http.Response.Headers[Header] = id;
            Activity.Current?.SetTag("correlation.id", id);
            return next(http);
        });
        return app;
    }
}

public sealed class RateLimitOptions
{
    /// <summary>Steady requests per second per caller; 0 turns limiting off (benchmarks).</summary>
    public int PermitsPerSecond { get; set; } = 100;
    public int Burst { get; set; } = 200;
}

/// <summary>
/// Rate limits per caller: the token's subject when signed in, else the client address. A token bucket
/// allows bursts (a dashboard loading a page) but caps a runaway script; over the limit is 429 with Retry-After.
/// </summary>
public static class RateLimits
{
    public static IHostApplicationBuilder AddGatewayRateLimits(this IHostApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection("Gateway:RateLimit").Get<RateLimitOptions>() ?? new RateLimitOptions();
        builder.Services.AddSingleton(options);   // read once: UseGatewayRateLimits decides from the same values
        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = (ctx, _) =>
            {
                ctx.HttpContext.Response.Headers.RetryAfter = "1";
                return ValueTask.CompletedTask;
            };
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
            {
                if (options.PermitsPerSecond <= 0 || http.Request.Path.StartsWithSegments("/healthz"))
                {
                    return RateLimitPartition.GetNoLimiter("unlimited");
                }
                var key = http.User.UserId() is { } user ? $"user:{user}" : $"ip:{http.Connection.RemoteIpAddress}";
                return RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = Math.Max(options.Burst, options.PermitsPerSecond),
                    TokensPerPeriod = options.PermitsPerSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
        });
        return builder;
    }

    /// <summary>The limiter where limits are on; with limiting off (0 permits) it would still run for every request only to pick "unlimited".</summary>
    public static WebApplication UseGatewayRateLimits(this WebApplication app)
    {
        if (app.Services.GetRequiredService<RateLimitOptions>().PermitsPerSecond > 0)
        {
            app.UseRateLimiter();
        }
        return app;
    }
}
