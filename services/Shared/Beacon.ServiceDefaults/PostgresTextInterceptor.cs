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

    /// <summary>Once EF has set the command's text and parameters, before any execution (query, non-query, scalar; sync or async).</summary>
    public override DbCommand CommandInitialized(CommandEndEventData eventData, DbCommand result)
    {
        Clean(result);
        return result;
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
