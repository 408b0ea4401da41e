using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.Ingestion.Storage;
using Beacon.Messaging;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// The outbox relay against the real broker: events handed over in memory after a commit, events committed by an
/// explicit transaction, events that exist only in the table (another replica's, after it stopped) are all
/// published once and marked sent; a rolled-back transaction publishes nothing. Erasing a student rewrites the
/// batch events that also carry other students' records.
/// </summary>
public sealed class OutboxRelayTests : IngestionWithBatchEvents
{
    private static AttendanceBatchRecorded Batch(string studentId, string status) =>
        new([new AttendanceRecorded(studentId, "relay-school", new DateOnly(2026, 9, 1), status, false, DateTimeOffset.UtcNow)]);

    private int ReceivedFor(string studentId) => Events.Records.Count(r => r.StudentId == studentId);

    private Task<int> UnsentAsync() => Service.WithDbAsync<IngestionDbContext, int>(db => db.Set<OutboxMessage>().CountAsync(m => m.SentAt == null));

    [Fact]
    public async Task Events_from_memory_from_an_explicit_transaction_and_from_the_table_alone_are_published_once_and_marked_sent()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var (saved, committed, rolledBack, stray) = ($"{run}-saved", $"{run}-committed", $"{run}-rolled-back", $"{run}-stray");
        var statistics = Service.Services.GetRequiredService<OutboxStatistics>();
        var (memoryBefore, straysBefore) = (statistics.FromMemory, statistics.Strays);

        // Saved with SaveChanges alone: handed to the relay in memory.
        await Service.WithDbAsync<IngestionDbContext, int>(db =>
        {
            db.Publish(Batch(saved, "present"));
            return db.SaveChangesAsync();
        });
        // Inside an explicit transaction: published only after the commit.
        await Service.WithDbAsync<IngestionDbContext, int>(async db =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            db.Publish(Batch(committed, "absent"));
            await db.SaveChangesAsync();
            await Task.Delay(1500);
            Assert.Equal(0, ReceivedFor(committed));
            await transaction.CommitAsync();
            return 0;
        });
        // Rolled back: nothing is stored, nothing goes out.
        await Service.WithDbAsync<IngestionDbContext, int>(async db =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            db.Publish(Batch(rolledBack, "absent"));
            await db.SaveChangesAsync();
            await transaction.RollbackAsync();
            return 0;
        });
        // Only in the table, as a stopped replica would leave it: the relay finds it there.
        var body = JsonSerializer.Serialize(Batch(stray, "tardy"));
        await Service.WithDbAsync<IngestionDbContext, int>(db => db.Database.ExecuteSqlInterpolatedAsync(
            $"INSERT INTO outbox (MessageId, MessageType, Body, CreatedAt, Attempts) VALUES ({Guid.NewGuid()}, {typeof(AttendanceBatchRecorded).AssemblyQualifiedName}, {body}, {DateTimeOffset.UtcNow}, 0)"));

        await Eventually.WaitAsync(() => Task.FromResult(ReceivedFor(saved) + ReceivedFor(committed) + ReceivedFor(stray)), n => n >= 3, TimeSpan.FromSeconds(30));
        await Eventually.WaitAsync(UnsentAsync, n => n == 0, TimeSpan.FromSeconds(30));
        await Task.Delay(2500);   // time for a second copy to arrive, if one were sent
        Assert.Equal(1, ReceivedFor(saved));
        Assert.Equal(1, ReceivedFor(committed));
        Assert.Equal(1, ReceivedFor(stray));
        Assert.Equal(0, ReceivedFor(rolledBack));
        // The two committed through a context went from memory; only the row written behind the relay's back was a stray.
        Assert.Equal(2, statistics.FromMemory - memoryBefore);
        Assert.Equal(1, statistics.Strays - straysBefore);
        Assert.Equal(0, await Service.WithDbAsync<IngestionDbContext, int>(db => db.Set<OutboxMessage>().CountAsync(m => m.Body.Contains(rolledBack))));
    }

    [Fact]
    public async Task Erasing_a_student_removes_their_records_from_batch_events_shared_with_other_students()
    {
        var http = Service.CreateClient();
        var api = new IngestionApi(http);
        var school = $"ob-{Guid.NewGuid():N}"[..10];
        var (a, b) = ($"{school}-a", $"{school}-b");
        using (var roster = await api.PostAsync("/api/ingestion/v1/roster", IngestionApi.Roster(school, a, b)))
        {
            Assert.Equal(HttpStatusCode.OK, roster.StatusCode);
        }
        using (var days = await api.PostAsync("/api/ingestion/v1/attendance", new
        {
            records = new[]
            {
                new { studentId = a, date = "2026-09-01", status = "absent" },
                new { studentId = b, date = "2026-09-01", status = "present" },
                new { studentId = a, date = "2026-09-02", status = "present" },
            },
        }))
        {
            Assert.Equal(HttpStatusCode.OK, days.StatusCode);
        }
        Task<List<string>> BatchBodiesAsync() => Service.WithDbAsync<IngestionDbContext, List<string>>(db => db.Set<OutboxMessage>()
            .Where(m => m.MessageType.Contains(nameof(AttendanceBatchRecorded)) && m.Body.Contains(school)).Select(m => m.Body).ToListAsync());
        var before = Assert.Single(await BatchBodiesAsync());
        Assert.Contains($"\"StudentId\":\"{a}\"", before);

        using var erasure = await http.PostAsJsonAsync($"/api/ingestion/v1/students/{a}/erasure", new { reason = "parent request" });
        Assert.Equal(HttpStatusCode.Accepted, erasure.StatusCode);

        var after = Assert.Single(await BatchBodiesAsync());
        var records = JsonDocument.Parse(after).RootElement.GetProperty("Records").EnumerateArray().ToList();
        var left = Assert.Single(records);
        Assert.Equal(b, left.GetProperty("StudentId").GetString());
        Assert.Equal("present", left.GetProperty("Status").GetString());
        Assert.DoesNotContain(a, after);
    }
}
