using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Beacon.Ingestion.Storage;
using Beacon.Messaging;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// A backfill of past years (?recordedAt=): the records' events carry the time the source recorded them, so Early warning's
/// training sets "as known then" can use a history loaded today; a bad or future recordedAt refuses the batch whole.
/// </summary>
public sealed class BackfillTests(ServiceFactory<Program> service) : IClassFixture<ServiceFactory<Program>>
{
    private readonly IngestionApi _api = new(service.CreateClient());

    private Task<T> Db<T>(Func<IngestionDbContext, Task<T>> read) => service.WithDbAsync(read);

    private Task<List<string>> EventsAsync(string type, string studentId) => Db(db => db.Set<OutboxMessage>()
        .Where(m => m.MessageType.Contains(type) && m.Body.Contains($"\"{studentId}\"")).Select(m => m.Body).ToListAsync());

    private async Task<string> RosterAsync()
    {
        var school = $"bf-{Guid.NewGuid():N}"[..10];
        using var roster = await _api.PostAsync("/api/ingestion/v1/roster", IngestionApi.Roster(school, $"{school}-s1"));
        Assert.Equal(HttpStatusCode.OK, roster.StatusCode);
        return school;
    }

    [Fact]
    public async Task Records_sent_with_recordedAt_are_published_as_recorded_then_and_a_day_after_it_is_refused()
    {
        var school = await RosterAsync();
        var student = $"{school}-s1";
        var before = DateTimeOffset.UtcNow;
        using var response = await _api.PostAsync($"/api/ingestion/v1/attendance?recordedAt=2024-10-01T18:00:00Z&batchId={school}-b1", new
        {
            records = new[]
            {
                new { studentId = student, date = "2024-10-01", status = "absent" },
                // Not yet happened when the batch was recorded: a row error, the rest stored.
                new { studentId = student, date = "2024-10-02", status = "absent" },
            },
        });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["records[1].date"], IngestionApi.ErrorKeys(await IngestionApi.ProblemAsync(response)));
        var published = Assert.Single(await EventsAsync("AttendanceBatchRecorded", student));
        Assert.Contains("\"Date\":\"2024-10-01\"", published);
        Assert.Contains("\"OccurredAt\":\"2024-10-01T18:00:00+00:00\"", published);
        Assert.DoesNotContain("2024-10-02", published);
        // The receipt keeps when the batch really arrived.
        var receipt = await Db(db => db.Batches.AsNoTracking().SingleAsync(b => b.BatchId == $"{school}-b1"));
        Assert.True(receipt.ReceivedAt >= before.AddSeconds(-5), $"received {receipt.ReceivedAt:O}");
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("2024-10-01T18:00:00")]          // no offset: whose evening?
    [InlineData("2999-01-01T00:00:00Z")]         // the future
    [InlineData("1999-12-31T23:00:00Z")]         // before 2000
    public async Task A_bad_recordedAt_refuses_the_batch_whole_with_the_reason(string recordedAt)
    {
        var school = await RosterAsync();
        using var response = await _api.PostAsync($"/api/ingestion/v1/attendance?recordedAt={Uri.EscapeDataString(recordedAt)}&batchId={school}-bad",
            new { records = new[] { new { studentId = $"{school}-s1", date = "2024-10-01", status = "absent" } } });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["recordedAt"], IngestionApi.ErrorKeys(await IngestionApi.ProblemAsync(response)));
        Assert.Empty(await EventsAsync("AttendanceBatchRecorded", $"{school}-s1"));
        Assert.False(await Db(db => db.Batches.AnyAsync(b => b.BatchId == $"{school}-bad")));
    }

    [Fact]
    public async Task A_OneRoster_exit_sent_with_recordedAt_is_published_as_having_happened_then()
    {
        var school = await RosterAsync();
        var student = $"{school}-s1";
        using var form = new MultipartFormDataContent();
        var users = new ByteArrayContent(Encoding.UTF8.GetBytes("sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,givenName,familyName,grades,metadata.exitCode\n"
            + $"{student},tobedeleted,2025-03-14T18:00:00Z,false,{school},student,{student},Ivy,Marsh,10,dropped-out\n"));
        users.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        form.Add(users, "files", "users.csv");
        using (var refused = await service.CreateClient().PostAsync("/api/ingestion/v1/oneroster?recordedAt=2025-03-14", form))
        {
            Assert.Equal(["recordedAt"], IngestionApi.ErrorKeys(await IngestionApi.ProblemAsync(refused)));
        }
        Assert.Empty(await EventsAsync("StudentExited", student));
        using (var response = await service.CreateClient().PostAsync("/api/ingestion/v1/oneroster?recordedAt=2025-03-14T18:00:00Z", form))
        {
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }
        var exited = Assert.Single(await EventsAsync("StudentExited", student));
        Assert.Contains("\"ExitCode\":\"dropped-out\"", exited);
        Assert.Contains("\"OccurredAt\":\"2025-03-14T18:00:00+00:00\"", exited);
    }
}
