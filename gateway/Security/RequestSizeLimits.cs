using Microsoft.AspNetCore.Http.Features;

namespace Beacon.Gateway.Security;

public sealed class RequestSizeLimitOptions
{
    /// <summary>JSON (and any other body) sent to Ingestion: its own limit for a JSON batch.</summary>
    public long IngestionJsonBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>CSV files (text/csv or multipart) sent to Ingestion: its own limit for an upload.</summary>
    public long IngestionUploadBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>Every other body (case notes, assignments, skill graphs, settings).</summary>
    public long OtherBytes { get; set; } = 4L * 1024 * 1024;
}

/// <summary>
/// Request size limits at the edge, equal to the services' own. A body that declares more is refused with
/// 413 before it is proxied: when the service refused it first, YARP was still sending and answered 502.
/// A body without a length is cut off at the same limit by Kestrel.
/// </summary>
public static class RequestSizeLimits
{
    public static WebApplication UseRequestSizeLimits(this WebApplication app)
    {
        var options = app.Configuration.GetSection("Gateway:RequestSize").Get<RequestSizeLimitOptions>() ?? new RequestSizeLimitOptions();
        app.Use((http, next) =>
        {
            var limit = LimitFor(http.Request, options);
            if (http.Request.ContentLength is { } length && length > limit)
            {
                return Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Request body too large; nothing was stored",
                    detail: $"The body is {length:N0} bytes; at most {limit:N0} bytes are accepted here. Split the batch or upload a CSV file.")
                    .ExecuteAsync(http);
            }
            if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
            {
                feature.MaxRequestBodySize = limit;
            }
            return next(http);
        });
        return app;
    }

    internal static long LimitFor(HttpRequest request, RequestSizeLimitOptions options)
    {
        if (!request.Path.StartsWithSegments("/api/ingestion") && !request.Path.StartsWithSegments("/beacon.ingestion.v1"))
        {
            return options.OtherBytes;
        }
        var type = request.ContentType ?? "";
        return type.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase) || type.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            ? options.IngestionUploadBytes
            : options.IngestionJsonBytes;
    }
}
