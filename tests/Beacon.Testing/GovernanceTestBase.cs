using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.Governance;
using Beacon.Messaging;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Beacon.Testing;

/// <summary>
/// The shape every service's governance test shares: seed two students, erase one through the bus, check each
/// table (the erased one empty, the other unchanged), redeliver (zeros, one tombstone), send a late event, run the
/// retention purge. A service's test supplies its settings, its seed and its per-table counter.
/// <para>
/// The same tests run on SQLite and, in a subclass that sets <see cref="OnPostgres"/>, on a PostgreSQL database
/// of their own (dropped afterwards): there they skip unless BEACON_TEST_POSTGRES is set (./beacon test sets it).
/// Test methods are [SkippableFact] and start with <see cref="SkipUnlessRunning"/>.
/// </para>
/// </summary>
public abstract class GovernanceTestBase<TProgram, TContext> : ServiceOnEitherDatabase<TProgram, TContext>
    where TProgram : class
    where TContext : DbContext
{
    private HttpClient? _http;

    /// <summary>The service's name in its StudentErasureConfirmed events, e.g. "mastery".</summary>
    protected abstract string ServiceName { get; }

    protected IBus Bus => Service.Services.GetRequiredService<IBus>();

    /// <summary>A client of the service acting as an administrator.</summary>
    protected HttpClient Http => _http ??= Service.CreateClient();

    /// <summary>Seeds one student's rows in every table the erasure covers, dated <paramref name="at"/>.</summary>
    protected virtual Task SeedAsync(string student, DateTimeOffset at) => throw new NotSupportedException($"{GetType().Name} seeds its own way.");

    /// <summary>The student's rows per table, by the names the service's confirmation uses.</summary>
    protected abstract Task<Dictionary<string, int>> RowsOfAsync(TContext db, string student);

    public override async Task DisposeAsync()
    {
        _http?.Dispose();
        await base.DisposeAsync();
    }

    protected Task<T> Db<T>(Func<TContext, Task<T>> work) => Service.WithDbAsync(work);

    protected Task<Dictionary<string, int>> RowsOfAsync(string student) => Db(db => RowsOfAsync(db, student));

    protected static string NewStudent(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..16];

    /// <summary>This service's outbox rows about the student, the erasure events excepted (they are the record of the erasure).</summary>
    protected static Task<int> OutboxRowsAboutAsync(TContext db, string student) =>
        db.Set<OutboxMessage>().CountAsync(m => m.Body.Contains($"\"StudentId\":\"{student}\"") && !m.MessageType.Contains(".StudentErasure"));

    /// <summary>
    /// Seeds students A and B now and erases A through the bus. The first confirmation comes from this service
    /// with <paramref name="expected"/> rows per table; every table then holds nothing of A and B's rows are
    /// unchanged. The request redelivered is confirmed again with zeros, changes nothing, and leaves one tombstone
    /// that is a keyed hash, not A's id. Returns A.
    /// </summary>
    protected async Task<string> EraseOneOfTwoAsync(Dictionary<string, int> expected)
    {
        var (a, b) = (NewStudent("gov-a"), NewStudent("gov-b"));
        await SeedAsync(a, DateTimeOffset.UtcNow);
        await SeedAsync(b, DateTimeOffset.UtcNow);
        var before = await RowsOfAsync(b);

        var request = new StudentErasureRequested(Guid.NewGuid(), a, "test-admin", DateTimeOffset.UtcNow);
        await Bus.Publish(request);
        var first = Assert.Single(await ErasureProbe.WaitForConfirmationsAsync<TContext>(Service.Services, request.RequestId, 1));
        Assert.Equal(ServiceName, first.GetProperty("Service").GetString());
        Assert.Equal(expected, ErasureProbe.Rows(first));
        Assert.All(await RowsOfAsync(a), kv => Assert.True(kv.Value == 0, $"{kv.Key} still holds {kv.Value} row(s) of A"));
        Assert.Equal(before, await RowsOfAsync(b));

        // Redelivered: nothing more to delete, confirmed again with zeros, one tombstone.
        await Bus.Publish(request);
        var both = await ErasureProbe.WaitForConfirmationsAsync<TContext>(Service.Services, request.RequestId, 2);
        Assert.Equal(2, both.Count);
        Assert.All(ErasureProbe.Rows(both[1]), kv => Assert.Equal(0, kv.Value));
        Assert.Equal(1, await Db(db => db.Set<ErasedStudent>().CountAsync(e => e.RequestId == request.RequestId)));
        Assert.Equal(0, await Db(db => db.Set<ErasedStudent>().CountAsync(e => e.StudentKey.Contains(a))));
        Assert.Equal(before, await RowsOfAsync(b));
        return a;
    }

    /// <summary>
    /// A late event about the erased student does not bring them back; the same event about another student
    /// (a marker) is handled, which shows the event was consumed and not merely slow.
    /// </summary>
    protected async Task AssertLateEventIgnoredAsync<TEvent>(string erased, Func<string, TEvent> late, Func<TContext, string, Task<int>> count)
        where TEvent : class
    {
        var marker = NewStudent("gov-m");
        await Bus.Publish(late(erased));
        await Bus.Publish(late(marker));
        Assert.Equal(1, await Eventually.WaitAsync(() => Db(db => count(db, marker)), n => n == 1, TimeSpan.FromSeconds(30)));
        await Task.Delay(500);
        Assert.Equal(0, await Db(db => count(db, erased)));
    }

    /// <summary>POST {apiPrefix}/retention/run as an administrator: 200 and the outcome per kind.</summary>
    protected async Task<Dictionary<string, JsonElement>> RunRetentionAsync(string apiPrefix)
    {
        using var response = await Http.PostAsync($"{apiPrefix}/retention/run", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("kinds").EnumerateArray()
            .ToDictionary(k => k.GetProperty("kind").GetString()!);
    }
}
