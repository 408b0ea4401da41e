using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Testing;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// Replay re-publishes accepted events from the append-only log. A downstream projection (here: a plain
/// queue bound to the AttendanceBatchRecorded exchange, <see cref="BatchEventListener{TRecord}"/>) rebuilt from the replay
/// alone equals the one built from the live stream.
/// </summary>
public sealed class ReplayTests : IngestionWithBatchEvents
{
    /// <summary>The projection a consumer builds: the last status per student and day.</summary>
    private Dictionary<(string, string), string> Projection(string school) =>
        Events.Records.Where(r => r.StudentId.StartsWith(school, StringComparison.Ordinal))
            .GroupBy(r => (r.StudentId, r.Date)).ToDictionary(g => g.Key, g => g.Last().Status);

    [Fact]
    public async Task Replaying_the_log_rebuilds_the_same_projection()
    {
        var http = Service.CreateClient();
        var api = new IngestionApi(http);
        var school = $"rp-{Guid.NewGuid():N}"[..10];
        var students = Enumerable.Range(1, 5).Select(i => $"{school}-s{i}").ToArray();
        using (var roster = await api.PostAsync("/api/ingestion/v1/roster", IngestionApi.Roster(school, students)))
        {
            Assert.Equal(HttpStatusCode.OK, roster.StatusCode);
        }
        var from = DateTimeOffset.UtcNow.AddSeconds(-1);
        var records = students.SelectMany((s, i) => Enumerable.Range(1, 8).Select(d => new
        {
            studentId = s,
            date = $"2026-09-{d:00}",
            status = (i + d) % 4 == 0 ? "absent" : "present",
        })).ToList();
        using (var live = await api.PostAsync("/api/ingestion/v1/attendance", new { records }))
        {
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }
        // A correction, so the projection depends on order.
        using (var correction = await api.PostAsync("/api/ingestion/v1/attendance", new { records = new[] { new { studentId = students[0], date = "2026-09-01", status = "excused-absent" } } }))
        {
            Assert.Equal(HttpStatusCode.OK, correction.StatusCode);
        }
        await Eventually.WaitAsync(() => Task.FromResult(Events.Records.Count(r => r.StudentId.StartsWith(school, StringComparison.Ordinal))), n => n >= 41, TimeSpan.FromSeconds(60));
        var liveProjection = Projection(school);
        Assert.Equal(40, liveProjection.Count);
        Assert.Equal("excused-absent", liveProjection[(students[0], "2026-09-01")]);

        Events.Clear();
        using var replay = await http.PostAsync($"/api/ingestion/v1/replay?type=AttendanceBatchRecorded&from={Uri.EscapeDataString(from.ToString("O"))}", null);
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        var result = await replay.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(result.GetProperty("replayed").GetInt32() >= 2, "two events: the upload's batch and the correction's");
        await Eventually.WaitAsync(() => Task.FromResult(Events.Records.Count(r => r.StudentId.StartsWith(school, StringComparison.Ordinal))), n => n >= 41, TimeSpan.FromSeconds(60));
        Assert.Equal(liveProjection, Projection(school));

        using var badRange = await http.PostAsync("/api/ingestion/v1/replay?from=last-tuesday", null);
        Assert.Equal(HttpStatusCode.BadRequest, badRange.StatusCode);
    }
}
