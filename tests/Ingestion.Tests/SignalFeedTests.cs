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
        var school = $"gf-{Guid.NewGuid():N}"[..10];
        var students = Enumerable.Range(1, 10).Select(i => $"{school}-s{i}").ToArray();
        using (var roster = await new IngestionApi(service.CreateClient()).PostAsync("/api/ingestion/v1/roster", IngestionApi.Roster(school, students)))
        {
            Assert.Equal(HttpStatusCode.OK, roster.StatusCode);
        }
        using var channel = GrpcChannel.ForAddress(service.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = new BearerTokenHandler(TestTokens.Administrator, service.Server.CreateHandler()) });
        var client = new SignalFeed.SignalFeedClient(channel);
        var headers = new Metadata { { "idempotency-key", $"feed-{school}" }, { "x-beacon-source", "feed-test" } };

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

        var again = await SendAsync();
        Assert.Equal((5000, 4999, 1), (again.Received, again.Accepted, again.Rejected));
        var ids = students.ToList();
        Assert.Equal(4999, await service.WithDbAsync<IngestionDbContext, int>(db => db.Attendance.CountAsync(a => ids.Contains(a.StudentId))));
    }
}
