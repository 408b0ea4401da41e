using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.Ingestion.Intake;
using Beacon.Ingestion.Storage;
using Beacon.Messaging;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// Answers travel in batches (ItemResponseBatchRecorded, up to 500 in upload order) through the real broker, read
/// here by a plain queue bound to that exchange (<see cref="BatchEventListener{TRecord}"/>); replay re-publishes them; erasure rewrites a batch shared with
/// another student.
/// </summary>
public sealed class AnswerBatchTests : IAsyncLifetime
{
    private readonly ServiceFactory<Program> _service = new();
    private BatchEventListener<(string StudentId, string ItemId)> _answers = null!;

    public async Task InitializeAsync()
    {
        await _service.WaitUntilReadyAsync();
        _answers = await BatchEventListener<(string StudentId, string ItemId)>.StartAsync(_service.BusScope, nameof(ItemResponseBatchRecorded),
            r => (r.GetProperty("studentId").GetString()!, r.GetProperty("itemId").GetString()!));
    }

    public async Task DisposeAsync()
    {
        await _answers.DisposeAsync();
        await _service.DisposeAsync();
    }

    /// <summary>The batch events received whose records are this school's, in arrival order.</summary>
    private List<IReadOnlyList<(string StudentId, string ItemId)>> EventsOf(string school) =>
        [.. _answers.Events.Where(e => e.Count > 0 && e.All(r => r.StudentId.StartsWith(school, StringComparison.Ordinal)))];

    private Task<List<string>> OutboxBodiesAsync(string school) => _service.WithDbAsync<IngestionDbContext, List<string>>(db => db.Set<OutboxMessage>()
        .Where(m => m.MessageType.Contains(nameof(ItemResponseBatchRecorded)) && m.Body.Contains(school)).OrderBy(m => m.Sequence).Select(m => m.Body).ToListAsync());

    private static object Answer(string student, string item, DateTimeOffset at) =>
        new { studentId = student, itemId = item, skillIds = new[] { "fractions" }, correct = true, attemptNumber = 1, hintsUsed = 0, timeOnTaskSeconds = 20.0, answeredAt = at };

    [Fact]
    public async Task An_upload_of_1200_answers_publishes_3_batch_events_in_upload_order_and_replay_publishes_them_again()
    {
        var http = _service.CreateClient();
        var api = new IngestionApi(http);
        var school = $"ab-{Guid.NewGuid():N}"[..10];
        var students = Enumerable.Range(1, 40).Select(i => $"{school}-s{i}").ToArray();
        using (var roster = await api.PostAsync("/api/ingestion/v1/roster", IngestionApi.Roster(school, students)))
        {
            Assert.Equal(HttpStatusCode.OK, roster.StatusCode);
        }
        var from = DateTimeOffset.UtcNow.AddSeconds(-1);
        var at = DateTimeOffset.UtcNow.AddDays(-1);
        // Not grouped by student: upload order interleaves them, and the events must keep it.
        var upload = Enumerable.Range(0, 1200).Select(i => (Student: students[(i * 7) % 40], Item: $"item-{i / 40}-{i % 40}")).ToList();
        using (var response = await api.PostAsync("/api/ingestion/v1/item-responses", new { responses = upload.Select((a, i) => Answer(a.Student, a.Item, at.AddSeconds(i))) }))
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, body);
            Assert.Equal(1200, JsonDocument.Parse(body).RootElement.GetProperty("accepted").GetInt32());
        }

        var stored = await OutboxBodiesAsync(school);
        Assert.Equal([ItemResponseProcessor.ItemResponsesPerEvent, 500, 200], stored.Select(b => JsonDocument.Parse(b).RootElement.GetProperty("Records").GetArrayLength()));
        var received = await Eventually.WaitAsync(() => Task.FromResult(EventsOf(school)), e => e.Count >= 3, TimeSpan.FromSeconds(60));
        await Task.Delay(500);
        received = EventsOf(school);
        Assert.Equal([500, 500, 200], received.Select(e => e.Count));
        Assert.Equal(upload, received.SelectMany(e => e).ToList());

        // Replay accepts the batch type and re-publishes the same three events in the same order.
        _answers.Clear();
        using var replay = await http.PostAsync($"/api/ingestion/v1/replay?type=ItemResponseBatchRecorded&from={Uri.EscapeDataString(from.ToString("O"))}", null);
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        Assert.True((await replay.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("replayed").GetInt32() >= 3);
        var replayed = await Eventually.WaitAsync(() => Task.FromResult(EventsOf(school)), e => e.Count >= 3, TimeSpan.FromSeconds(60));
        Assert.Equal(upload, replayed.SelectMany(e => e).ToList());
    }

    [Fact]
    public async Task Erasing_a_student_removes_their_answers_from_a_batch_event_shared_with_another_student()
    {
        var http = _service.CreateClient();
        var api = new IngestionApi(http);
        var school = $"ae-{Guid.NewGuid():N}"[..10];
        var (a, b) = ($"{school}-a", $"{school}-b");
        using (var roster = await api.PostAsync("/api/ingestion/v1/roster", IngestionApi.Roster(school, a, b)))
        {
            Assert.Equal(HttpStatusCode.OK, roster.StatusCode);
        }
        var at = DateTimeOffset.UtcNow.AddHours(-2);
        using (var answers = await api.PostAsync("/api/ingestion/v1/item-responses", new { responses = new[] { Answer(a, "q1", at), Answer(b, "q1", at), Answer(a, "q2", at.AddMinutes(1)) } }))
        {
            Assert.Equal(HttpStatusCode.OK, answers.StatusCode);
        }
        var before = Assert.Single(await OutboxBodiesAsync(school));
        Assert.Contains($"\"StudentId\":\"{a}\"", before);

        using var erasure = await http.PostAsJsonAsync($"/api/ingestion/v1/students/{a}/erasure", new { reason = "parent request" });
        Assert.Equal(HttpStatusCode.Accepted, erasure.StatusCode);

        var after = Assert.Single(await OutboxBodiesAsync(school));
        var left = Assert.Single(JsonDocument.Parse(after).RootElement.GetProperty("Records").EnumerateArray());
        Assert.Equal(b, left.GetProperty("StudentId").GetString());
        Assert.Equal("q1", left.GetProperty("ItemId").GetString());
        Assert.Equal(["fractions"], left.GetProperty("SkillIds").EnumerateArray().Select(s => s.GetString()));
        Assert.DoesNotContain(a, after);
        // The rewritten body is still a valid event of its type (replay deserialises it).
        var parsed = JsonSerializer.Deserialize<ItemResponseBatchRecorded>(after)!;
        Assert.Equal(b, Assert.Single(parsed.Records).StudentId);
    }
}
