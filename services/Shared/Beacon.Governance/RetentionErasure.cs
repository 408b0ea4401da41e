using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Beacon.Messaging;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Beacon.Governance;

/// <summary>
/// A tombstone: a student this service has erased, kept as a keyed hash of the id (never the id), so a
/// late event about them can be recognised and ignored without keeping who they were.
/// </summary>
public sealed class ErasedStudent
{
    public required string StudentKey { get; set; }
    public Guid RequestId { get; set; }
    public DateTimeOffset ErasedAt { get; set; }
}

/// <summary>
/// Keyed hash (HMAC-SHA256) of a student id with Governance:PseudonymKey. Without the key the hash cannot be
/// reversed by hashing candidate ids. Unset, a fixed development key is used and a warning logged: set it
/// (a secret) in every real deployment.
/// </summary>
public sealed class StudentPseudonyms
{
    private const string DevelopmentKey = "beacon-development-pseudonym-key";
    private readonly byte[] _key;

    public StudentPseudonyms(IConfiguration configuration, ILogger<StudentPseudonyms> logger)
    {
        var key = configuration["Governance:PseudonymKey"];
        if (string.IsNullOrWhiteSpace(key))
        {
            logger.LogWarning("Governance:PseudonymKey is not set; erased students are hashed with the development key");
            key = DevelopmentKey;
        }
        _key = Encoding.UTF8.GetBytes(key);
    }

    public string Of(string studentId) => Convert.ToHexStringLower(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(studentId)));
}

public static class StudentErasure
{
    public static ModelBuilder AddErasedStudents(this ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<ErasedStudent>(e =>
        {
            e.ToTable("erased_students");
            e.HasKey(x => x.StudentKey);
        });
        return modelBuilder;
    }

    /// <summary>
    /// Erases one student in one transaction: the tombstone first (so consumers that start now already skip the
    /// student), then the service's deletes, then whatever <paramref name="confirm"/> adds (the confirmation
    /// event through the outbox), one commit. A redelivery finds nothing left to delete and confirms with zeros.
    /// </summary>
    public static async Task<Dictionary<string, int>> EraseAsync(this DbContext db, ErasedStudentsCache tombstones, string studentId, Guid requestId,
        DateTimeOffset now, Func<CancellationToken, Task<Dictionary<string, int>>> erase, Action<Dictionary<string, int>> confirm, CancellationToken ct)
    {
        var pseudonyms = tombstones.Pseudonyms;
        var strategy = db.Database.CreateExecutionStrategy();
        var erased = await strategy.ExecuteAsync(async () =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync(ct);
            var key = pseudonyms.Of(studentId);
            if (await db.Set<ErasedStudent>().FindAsync([key], ct) is null)
            {
                db.Set<ErasedStudent>().Add(new ErasedStudent { StudentKey = key, RequestId = requestId, ErasedAt = now });
                await db.SaveChangesAsync(ct);
            }
            var rows = await erase(ct);
            confirm(rows);
            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
            return rows;
        });
        tombstones.Invalidate();
        return erased;
    }

    /// <summary>
    /// Consumers of this service skip messages about erased students (a late attendance row, an alert raised
    /// before the erasure reached the scorer), so nothing erased comes back. Call inside AddServiceBus.
    /// </summary>
    public static IBusRegistrationConfigurator AddErasedStudentFilter<TContext>(this IBusRegistrationConfigurator bus)
        where TContext : DbContext
    {
        bus.TryAddSingleton<StudentPseudonyms>();
        bus.TryAddSingleton<ErasedStudentsCache>();
        bus.AddScoped<IErasedStudents, ErasedStudents<TContext>>();
        bus.AddConfigureEndpointsCallback((context, _, endpoint) => endpoint.UseConsumeFilter(typeof(ErasedStudentFilter<>), context));
        return bus;
    }
}

public interface IErasedStudents
{
    Task<bool> IsErasedAsync(string studentId, CancellationToken ct);
}

public static class ErasedStudentsExtensions
{
    /// <summary>
    /// The messages of a batch whose student was not erased. The consume filter sees a batch consumer's
    /// Batch&lt;T&gt; as one message without a StudentId, so batch consumers drop erased students themselves.
    /// </summary>
    public static async Task<List<T>> WithoutErasedAsync<T>(this IErasedStudents erased, IEnumerable<T> messages, Func<T, string> studentId, CancellationToken ct)
    {
        var kept = new List<T>();
        foreach (var message in messages)
        {
            if (!await erased.IsErasedAsync(studentId(message), ct))
            {
                kept.Add(message);
            }
        }
        return kept;
    }
}

internal sealed class ErasedStudents<TContext>(TContext db, ErasedStudentsCache cache) : IErasedStudents
    where TContext : DbContext
{
    public Task<bool> IsErasedAsync(string studentId, CancellationToken ct) => cache.IsErasedAsync(db, studentId, ct);
}

/// <summary>
/// The tombstones in memory, so the filter costs a hash and a set lookup per message, not a query. Reloaded
/// (the whole table: erasures are rare) when older than Governance:TombstoneRefresh (default 2 s) and at once
/// after an erasure on this process; another replica sees a new tombstone within that refresh.
/// </summary>
public sealed class ErasedStudentsCache(StudentPseudonyms pseudonyms, IConfiguration configuration, TimeProvider clock)
{
    private sealed record Snapshot(HashSet<string> Keys, DateTimeOffset LoadedAt);

    private readonly TimeSpan _refresh = configuration.GetValue("Governance:TombstoneRefresh", TimeSpan.FromSeconds(2));
    private readonly SemaphoreSlim _reload = new(1, 1);
    private volatile Snapshot? _snapshot;

    public StudentPseudonyms Pseudonyms => pseudonyms;

    public void Invalidate() => _snapshot = null;

    public async Task<bool> IsErasedAsync(DbContext db, string studentId, CancellationToken ct)
    {
        var snapshot = _snapshot;
        if (snapshot is null || clock.GetUtcNow() - snapshot.LoadedAt > _refresh)
        {
            await _reload.WaitAsync(ct);
            try
            {
                snapshot = _snapshot;
                if (snapshot is null || clock.GetUtcNow() - snapshot.LoadedAt > _refresh)
                {
                    var loadedAt = clock.GetUtcNow();
                    var keys = await db.Set<ErasedStudent>().AsNoTracking().Select(e => e.StudentKey).ToListAsync(ct);
                    _snapshot = snapshot = new Snapshot(keys.ToHashSet(StringComparer.Ordinal), loadedAt);
                }
            }
            finally
            {
                _reload.Release();
            }
        }
        return snapshot.Keys.Contains(pseudonyms.Of(studentId));
    }
}

/// <summary>Drops (acknowledges without handling) a message whose StudentId is a tombstoned student.</summary>
public sealed class ErasedStudentFilter<T>(IErasedStudents erased, ILogger<ErasedStudentFilter<T>> logger) : IFilter<ConsumeContext<T>>
    where T : class
{
    // The erasure messages themselves must pass: a redelivered request is confirmed again.
    private static readonly Func<T, string?>? StudentIdOf =
        typeof(T).Name.StartsWith("StudentErasure", StringComparison.Ordinal) ? null
        : typeof(T).GetProperty("StudentId", BindingFlags.Public | BindingFlags.Instance) is { PropertyType: var type } property && type == typeof(string)
            ? message => (string?)property.GetValue(message)
            : null;

    public async Task Send(ConsumeContext<T> context, IPipe<ConsumeContext<T>> next)
    {
        if (StudentIdOf?.Invoke(context.Message) is { Length: > 0 } studentId && await erased.IsErasedAsync(studentId, context.CancellationToken))
        {
            logger.LogInformation("Ignored {MessageType} {MessageId}: its student was erased", typeof(T).Name, context.MessageId);
            return;
        }
        await next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("erasedStudents");
}

public static class OutboxErasure
{
    /// <summary>
    /// Deletes this service's outbox rows (sent or not) whose event is about the student (a "StudentId" property equal
    /// to the id), except the erasure events themselves: they are the record that the erasure was asked and done.
    /// An event carrying several students' records (a "Records" list) loses the student's records instead, and
    /// goes only when none are left. An event about a group (a "StudentIds" list, e.g. a section's roster) keeps the
    /// group and loses the student's id. Returns the rows deleted or rewritten.
    /// </summary>
    public static async Task<int> DeleteOutboxOfStudentAsync(this DbContext db, string studentId, CancellationToken ct)
    {
        var id = System.Text.Json.JsonSerializer.Serialize(studentId);
        var needle = "\"StudentId\":" + id;
        const string batch = "\"Records\":[";
        var rows = db.Set<OutboxMessage>().Where(m => m.Body.Contains(needle) && !m.MessageType.Contains(".StudentErasure"));
        var deleted = await rows.Where(m => !m.Body.Contains(batch)).ExecuteDeleteAsync(ct);
        var batches = await rows.Where(m => m.Body.Contains(batch)).ToListAsync(ct);
        // A coarse filter in the database (the id anywhere after a "StudentIds" list opens); the exact match is in JSON.
        var groups = await db.Set<OutboxMessage>().Where(m => m.Body.Contains("\"StudentIds\":[") && m.Body.Contains(id)).ToListAsync(ct);
        var rewritten = 0;
        foreach (var row in groups)
        {
            var body = System.Text.Json.Nodes.JsonNode.Parse(row.Body)!.AsObject();
            if (body["StudentIds"] is System.Text.Json.Nodes.JsonArray ids
                && ids.Where(n => n?.GetValue<string>() == studentId).ToList() is { Count: > 0 } mentions)
            {
                mentions.ForEach(n => ids.Remove(n));
                row.Body = body.ToJsonString();
                rewritten++;
            }
        }
        foreach (var row in batches)
        {
            var body = System.Text.Json.Nodes.JsonNode.Parse(row.Body)!.AsObject();
            var records = body["Records"]!.AsArray();
            foreach (var record in records.Where(r => r?["StudentId"]?.GetValue<string>() == studentId).ToList())
            {
                records.Remove(record);
            }
            if (records.Count == 0)
            {
                db.Remove(row);
            }
            else
            {
                row.Body = body.ToJsonString();
            }
        }
        await db.SaveChangesAsync(ct);
        return deleted + batches.Count + rewritten;
    }

    /// <summary>Retention of published outbox rows (Retention:OutboxSent); unsent rows are never purged.</summary>
    public static RetentionRule OutboxSentRule<TContext>()
        where TContext : DbContext =>
        new("OutboxSent", (sp, cutoff, ct) => sp.GetRequiredService<TContext>().DeleteOlderThanAsync<OutboxMessage>(m => m.SentAt, cutoff, ct));

    /// <summary>
    /// Retention of the inbox (Retention:ProcessedMessages): ids of messages consumed before the cutoff. A copy of
    /// such a message arriving later would be applied again, so keep it well beyond any redelivery (days, not hours).
    /// </summary>
    public static RetentionRule InboxRule<TContext>()
        where TContext : DbContext =>
        new("ProcessedMessages", (sp, cutoff, ct) => sp.GetRequiredService<TContext>().DeleteOlderThanAsync<InboxMessage>(m => m.ProcessedAt, cutoff, ct));
}
