using System.Text;
using CsvHelper;
using Microsoft.AspNetCore.Diagnostics;

namespace Beacon.Ingestion.Api;

/// <summary>
/// A body that cannot be read at all (a multipart upload cut short, bytes that are not text, a CSV the
/// parser gives up on) is the caller's problem: 400 with the reason, never a 500. The endpoints name rows
/// and fields where they can; this is the net under them. Anything else stays a 500 and is logged.
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
                Detail = exception.Message.Split('\n')[0],
            },
        });
    }
}
