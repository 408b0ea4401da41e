using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace Beacon.Simulator;

/// <summary>
/// Streams a district's attendance through the gateway at a chosen rate (JSON batches), with a progress
/// bar on the terminal. The roster goes first as OneRoster CSV. The load generator for benchmarks and
/// fault tests; it stops by itself after the records or the time run out.
/// </summary>
public static class Streamer
{
    public sealed record Progress(long Sent, long Accepted, long Rejected, long Failed, TimeSpan Elapsed);

    public static async Task<Progress> StreamAsync(District district, Uri gateway, double ratePerSecond, TimeSpan duration, int batchSize,
        TextWriter progress, CancellationToken ct)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"beacon-stream-{Guid.NewGuid():N}");
        DistrictFiles.Write(district with { Attendance = [], Answers = [], Grades = [], Incidents = [] }, folder);
        try
        {
            if (await DistrictFiles.UploadAsync(folder, gateway, TextWriter.Null, ct) != 0)
            {
                throw new InvalidOperationException("The gateway refused the roster; is the platform running?");
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        using var http = await GatewayClient.CreateAsync(gateway, TimeSpan.FromSeconds(60), ct);
        var records = district.Attendance;
        var total = Math.Min(records.Count, (long)(ratePerSecond * duration.TotalSeconds));
        long sent = 0, accepted = 0, rejected = 0, failed = 0;
        var clock = Stopwatch.StartNew();
        var lastDraw = TimeSpan.Zero;
        // Up to eight batches in flight, so a slow answer does not hold the rate down.
        using var inFlight = new SemaphoreSlim(8);
        var requests = new List<Task>();
        while (sent < total && clock.Elapsed < duration + TimeSpan.FromSeconds(30) && !ct.IsCancellationRequested)
        {
            var batch = records.Skip((int)sent).Take((int)Math.Min(batchSize, total - sent))
                .Select(a => new { studentId = a.StudentId, date = a.Date.ToString("yyyy-MM-dd"), status = a.Status }).ToList();
            await inFlight.WaitAsync(ct);
            requests.Add(Task.Run(async () =>
            {
                try
                {
                    using var response = await http.PostAsJsonAsync("/api/ingestion/v1/attendance?source=simulator-stream", new { records = batch }, ct);
                    var body = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
                    Interlocked.Add(ref accepted, (body.TryGetProperty("accepted", out var a) ? a.GetInt32() : 0) + (body.TryGetProperty("corrected", out var c) ? c.GetInt32() : 0));
                    Interlocked.Add(ref rejected, body.TryGetProperty("rejected", out var r) ? r.GetInt32() : 0);
                    Interlocked.Add(ref failed, (int)response.StatusCode >= 500 ? batch.Count : 0);
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
                {
                    Interlocked.Add(ref failed, batch.Count);   // the gateway or Ingestion is down: counted, and the stream goes on
                }
                finally
                {
                    inFlight.Release();
                }
            }, ct));
            sent += batch.Count;
            // Pace to the rate: the next batch leaves when the records sent so far are due.
            var due = TimeSpan.FromSeconds(sent / ratePerSecond);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed, ct);
            }
            if (clock.Elapsed - lastDraw > TimeSpan.FromMilliseconds(250))
            {
                lastDraw = clock.Elapsed;
                Draw(progress, sent, total, Interlocked.Read(ref accepted), Interlocked.Read(ref rejected), Interlocked.Read(ref failed), clock.Elapsed);
            }
        }
        await Task.WhenAll(requests);
        Draw(progress, sent, total, accepted, rejected, failed, clock.Elapsed);
        progress.WriteLine();
        return new Progress(sent, accepted, rejected, failed, clock.Elapsed);
    }

    private static void Draw(TextWriter w, long sent, long total, long accepted, long rejected, long failed, TimeSpan elapsed)
    {
        const int Width = 30;
        var done = total == 0 ? Width : (int)(Width * sent / total);
        w.Write($"\r[{new string('#', done)}{new string('-', Width - done)}] {sent,8}/{total} sent  {accepted,8} accepted  {rejected,5} rejected  {failed,5} failed  {sent / Math.Max(elapsed.TotalSeconds, 0.001),7:F0}/s ");
    }
}
