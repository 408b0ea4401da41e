using System.Text.Json;
using Beacon.Messaging;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.Testing;

/// <summary>Reads the StudentErasureConfirmed events a service has put in its outbox for one erasure request.</summary>
public static class ErasureProbe
{
    public static async Task<List<JsonElement>> ConfirmationsAsync<TContext>(IServiceProvider services, Guid requestId)
        where TContext : DbContext
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TContext>();
        var id = requestId.ToString();
        var bodies = await db.Set<OutboxMessage>().AsNoTracking()
            .Where(m => m.MessageType.Contains(".StudentErasureConfirmed") && m.Body.Contains(id))
            .OrderBy(m => m.Sequence).Select(m => m.Body).ToListAsync();
        return bodies.Select(b => JsonDocument.Parse(b).RootElement.Clone()).ToList();
    }

    /// <summary>Waits until the service has confirmed the request <paramref name="count"/> times; returns the confirmations, oldest first.</summary>
    public static Task<List<JsonElement>> WaitForConfirmationsAsync<TContext>(IServiceProvider services, Guid requestId, int count)
        where TContext : DbContext =>
        Eventually.WaitAsync(() => ConfirmationsAsync<TContext>(services, requestId), c => c.Count >= count, TimeSpan.FromSeconds(30));

    /// <summary>Rows affected per table in a confirmation.</summary>
    public static Dictionary<string, int> Rows(JsonElement confirmation) =>
        confirmation.GetProperty("RowsAffected").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
}
