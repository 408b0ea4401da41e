using System.Net;
using Beacon.Contracts.Ingestion;
using Beacon.Ingestion.Storage;
using Beacon.Testing;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Tests;

/// <summary>The client-streaming gRPC feed: same rules as the REST batches, one answer at the end.</summary>
public sealed class SignalFeedTests(ServiceFactory<Program> service) : IClassFixture<ServiceFactory<Program>>
{
    [Fact]
    public async Task A_streamed_feed_keeps_valid_records_reports_bad_ones_and_a_resent_stream_is_a_no_op()
    {
        var (students, client) = await RosterAsync();
        var headers = new Metadata { { "idempotency-key", $"feed-{students[0]}" }, { "x-beacon-source", "feed-test" } };

        async Task<StreamSummary> SendAsync()
        {
            using var call = client.StreamAttendance(headers);
            for (var i = 0; i < 5000; i++)
            {
                var status = i == 4321 ? "asleep" : i % 9 == 0 ? "absent" : "present";
                await call.RequestStream.WriteAsync(new AttendanceRecordIn { StudentId = students[i % 10], Date = new DateOnly(2025, 1, 1).AddDays(i / 10).ToString("yyyy-MM-dd"), Status = status });
            }
            await call.RequestStream.CompleteAsync();
            return await call;
        }

        var first = await SendAsync();
        Assert.Equal(5000, first.Received);
        Assert.Equal(4999, first.Accepted);
        var rejection = Assert.Single(first.Rejections);
        Assert.Equal(("messages[4321]", "status"), (rejection.Position, rejection.Field));
        await ResentIsANoOpAsync(SendAsync, first, students);
    }

    [Fact]
    public async Task A_stream_of_record_batches_keeps_order_names_a_bad_record_by_message_and_place_and_a_resent_stream_is_a_no_op()
    {
        var (students, client) = await RosterAsync();
        var batchId = $"feed-batches-{students[0]}";
        var headers = new Metadata { { "idempotency-key", batchId }, { "x-beacon-source", "feed-test" } };

        // 5,000 records in messages of 300 (an empty message among them), so messages cross the intake's chunks of 2,000.
        // Record 4,321 is message 15's record 121 (the empty message is message 10). The last record repeats the first one's
        // key: a duplicate in one batch, named by both places.
        async Task<StreamSummary> SendAsync()
        {
            using var call = client.StreamAttendanceBatches(headers);
            var message = new AttendanceBatchIn();
            for (var i = 0; i < 5000; i++)
            {
                var status = i == 4321 ? "asleep" : i % 9 == 0 ? "absent" : "present";
                message.Records.Add(new AttendanceRecordIn { StudentId = students[i % 10], Date = new DateOnly(2025, 1, 1).AddDays(i / 10).ToString("yyyy-MM-dd"), Status = status });
                if (message.Records.Count == 300)
                {
                    await call.RequestStream.WriteAsync(message);
                    message = new AttendanceBatchIn();
                }
                if (i == 3000)
                {
                    await call.RequestStream.WriteAsync(new AttendanceBatchIn());
                }
            }
            message.Records.Add(new AttendanceRecordIn { StudentId = students[0], Date = "2025-01-01", Status = "tardy" });
            await call.RequestStream.WriteAsync(message);
            await call.RequestStream.CompleteAsync();
            return await call;
        }

        var first = await SendAsync();
        Assert.Equal((5001, 4999, 2), (first.Received, first.Accepted, first.Rejected));
        Assert.Equal([("messages[15].records[121]", "status"), ("messages[17].records[200]", "date")],
            first.Rejections.OrderBy(r => r.Position, StringComparer.Ordinal).Select(r => (r.Position, r.Field)));
        Assert.StartsWith("duplicates messages[0].records[0] ", first.Rejections.Single(r => r.Field == "date").Reason);
        Assert.Equal(["messages[15].records[121]", "messages[17].records[200]"], await service.WithDbAsync<IngestionDbContext, List<string>>(db =>
            db.Quarantine.Where(q => q.BatchId == batchId).Select(q => q.Position).OrderBy(p => p).ToListAsync()));
        Assert.Equal("absent", await service.WithDbAsync<IngestionDbContext, string>(db =>
            db.Attendance.Where(a => a.StudentId == students[0] && a.Date == new DateOnly(2025, 1, 1)).Select(a => a.Status).SingleAsync()));
        await ResentIsANoOpAsync(SendAsync, first, students);
    }

    [Fact]
    public async Task A_stream_of_answer_batches_stores_the_valid_answers_and_names_the_bad_one()
    {
        var (students, client) = await RosterAsync();
        using var call = client.StreamItemResponseBatches(new Metadata { { "idempotency-key", $"answers-{students[0]}" } });
        for (var m = 0; m < 3; m++)
        {
            var message = new ItemResponseBatchIn();
            for (var j = 0; j < 4; j++)
            {
                message.Responses.Add(new ItemResponseIn
                {
                    StudentId = students[j],
                    ItemId = $"item-{m}",
                    SkillIds = { "fractions" },
                    Correct = j % 2 == 0,
                    AttemptNumber = m == 2 && j == 3 ? 0 : 1,
                    TimeOnTaskSeconds = 12,
                    AnsweredAt = "2025-02-03T10:00:00Z",
                });
            }
            await call.RequestStream.WriteAsync(message);
        }
        await call.RequestStream.CompleteAsync();
        var summary = await call;

        Assert.Equal((12, 11, 1), (summary.Received, summary.Accepted, summary.Rejected));
        Assert.Equal(("messages[2].responses[3]", "attemptNumber"), (Assert.Single(summary.Rejections).Position, summary.Rejections[0].Field));
        var ids = students.ToList();
        Assert.Equal(11, await service.WithDbAsync<IngestionDbContext, int>(db => db.ItemResponses.CountAsync(r => ids.Contains(r.StudentId))));
    }

    /// <summary>The same stream sent again under its batch id: the first answer, and nothing stored twice.</summary>
    private async Task ResentIsANoOpAsync(Func<Task<StreamSummary>> send, StreamSummary first, string[] students)
    {
        var again = await send();
        Assert.Equal((first.Received, first.Accepted, first.Rejected), (again.Received, again.Accepted, again.Rejected));
        var ids = students.ToList();
        Assert.Equal(first.Accepted, await service.WithDbAsync<IngestionDbContext, int>(db => db.Attendance.CountAsync(a => ids.Contains(a.StudentId))));
    }

    private async Task<(string[] Students, SignalFeed.SignalFeedClient Client)> RosterAsync()
    {
        var school = $"gb-{Guid.NewGuid():N}"[..10];
        var students = Enumerable.Range(1, 10).Select(i => $"{school}-s{i}").ToArray();
        using (var roster = await new IngestionApi(service.CreateClient()).PostAsync("/api/ingestion/v1/roster", IngestionApi.Roster(school, students)))
        {
            Assert.Equal(HttpStatusCode.OK, roster.StatusCode);
        }
        var channel = GrpcChannel.ForAddress(service.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = new BearerTokenHandler(TestTokens.Administrator, service.Server.CreateHandler()) });
        return (students, new SignalFeed.SignalFeedClient(channel));
    }
}
