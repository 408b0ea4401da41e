using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Beacon.ServiceDefaults;

/// <summary>
/// PostgreSQL text cannot hold the NUL character (U+0000): a parameter carrying one fails the whole command, so a
/// stray NUL in an upload, a query string or a rejected row kept in quarantine became a 500 (found by the fuzz test
/// on PostgreSQL). Every string parameter, alone or in an array, has its NULs replaced by U+FFFD, the replacement
/// character, before it reaches the server; reads and writes see the same text, so keys stay consistent. SQLite
/// keeps NULs as sent.
/// </summary>
public sealed class PostgresTextInterceptor : DbCommandInterceptor
{
    public const char Replacement = '\uFFFD';

    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        Clean(command);
        return result;
    }

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Clean(command);
        return ValueTask.FromResult(result);
    }

    public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
    {
        Clean(command);
        return result;
    }

    public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        Clean(command);
        return ValueTask.FromResult(result);
    }

    public override InterceptionResult<object> ScalarExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<object> result)
    {
        Clean(command);
        return result;
    }

    public override ValueTask<InterceptionResult<object>> ScalarExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<object> result, CancellationToken cancellationToken = default)
    {
        Clean(command);
        return ValueTask.FromResult(result);
    }

    public static void Clean(DbCommand command)
    {
        foreach (DbParameter parameter in command.Parameters)
        {
            parameter.Value = parameter.Value switch
            {
                string text when text.Contains('\0') => text.Replace('\0', Replacement),
                string[] texts when texts.Any(t => t?.Contains('\0') == true) => texts.Select(t => t?.Replace('\0', Replacement)).ToArray(),
                List<string> texts when texts.Any(t => t?.Contains('\0') == true) => texts.Select(t => t?.Replace('\0', Replacement)).ToList(),
                var value => value,
            };
        }
    }
}
