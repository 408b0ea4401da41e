using System.Text;
using CsvHelper;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Beacon.ServiceDefaults;

/// <summary>
/// A body that cannot be read at all (a multipart upload cut short, bytes that are not text, a CSV the
/// parser gives up on, JSON a minimal API could not bind) is the caller's problem: 400 with the reason,
/// never a 500. The endpoints name rows and fields where they can; this is the net under them. Anything
/// else stays a 500 and is logged.
/// </summary>
public sealed class UnreadableBodyHandler(ILogger<UnreadableBodyHandler> logger, IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        var status = exception switch
        {
            BadHttpRequestException bad => bad.StatusCode,
            IOException or InvalidDataException or DecoderFallbackException or CsvHelperException or System.Text.Json.JsonException => StatusCodes.Status400BadRequest,
            _ => 0,
        };
        if (status == 0 || http.Response.HasStarted)
        {
            return false;
        }
        logger.LogWarning("Unreadable request body on {Path}: {Reason}", http.Request.Path, exception.Message);
        http.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            Exception = exception,
            ProblemDetails =
            {
                Status = status,
                Title = "Unreadable request body; nothing was stored",
                Detail = Detail(exception),
            },
        });
    }

    /// <summary>A body a minimal API failed to bind says only "Failed to read parameter ...": add where the JSON broke.</summary>
    private static string Detail(Exception exception)
    {
        var detail = exception.Message.Split('\n')[0];
        if (exception.InnerException is System.Text.Json.JsonException json)
        {
            var where = json.Path is { Length: > 0 } path ? path : "$";
            var line = json.LineNumber is { } l ? $", line {l + 1}, position {json.BytePositionInLine + 1}" : "";
            detail += $" At {where}{line}: {json.InnerException?.Message ?? json.Message.Split('\n')[0]}";
        }
        return detail;
    }
}
