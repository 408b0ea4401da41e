using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Beacon.ServiceDefaults;

/// <summary>
/// SQLite answers "database is locked" when a writer waited longer than the command timeout (a machine
/// overloaded by uploads); PostgreSQL cuts connections or refuses new ones while it restarts or fails over.
/// That is not the caller's fault nor a bug: 503 with Retry-After, so a feed sends the same batch again (its
/// Idempotency-Key makes rows already stored count as unchanged), never a 500.
/// </summary>
public sealed class DatabaseBusyHandler(ILogger<DatabaseBusyHandler> logger, IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        if (!IsBusy(exception) || http.Response.HasStarted)
        {
            return false;
        }
        logger.LogWarning("Database busy on {Method} {Path}; answered 503", http.Request.Method, http.Request.Path);
        http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        http.Response.Headers.RetryAfter = "5";
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            Exception = exception,
            ProblemDetails =
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "The database is busy or unavailable; try again shortly",
                Detail = "Rows before the failure may be stored already. Send the same request again (with the same Idempotency-Key for a batch): rows already stored count as unchanged, so nothing is stored twice.",
            },
        });
    }

    public static bool IsBusy(Exception? exception)
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            // SQLITE_BUSY, SQLITE_LOCKED; or other writers kept storing the same new keys first (sent again, they are found stored).
            if (exception is SqliteException { SqliteErrorCode: 5 or 6 } or ConcurrentWriteException)
            {
                return true;
            }
            // Npgsql's own judgement (connection lost, server starting or out of connections, ...), and the states a
            // restart or an administrator leaves: terminated connection, database not accepting connections.
            if (exception is NpgsqlException { IsTransient: true } or PostgresException { SqlState: "57P01" or "57P02" or "57P03" or "55000" })
            {
                return true;
            }
        }
        return false;
    }
}
