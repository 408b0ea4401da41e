using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Beacon.Bench;
using Beacon.Contracts.Ingestion;
using Grpc.Core;
using Grpc.Net.Client;
using RabbitMQ.Client;

// Usage: IngestionThroughput <gateway-url> <amqp-uri> [records=100000] [gateway-grpc-url] [queue-prefix] [platform-pid]
// Needs a running platform (./beacon up --no-demo). Posts a roster, then N attendance records as one CSV through the
// gateway, then (with a gRPC URL: the gateway's HTTP/2 port) N more as one SignalFeed.StreamAttendanceBatches stream of
// 500 records a message and N more as one SignalFeed.StreamAttendance stream of one record a message, and measures each
// until every record is stored AND its event published (Ingestion's outbox drained). With ./beacon up's process id, the
// CPU seconds each service spent per 1,000 records of each load (CpuPerRecord). Then, in the same
// run, raw RabbitMQ.Client loops publish the same records with publisher confirms: one message per record, and in
// messages of 500 records as Ingestion does. Prints the rates and the ratios. With the platform's queue prefix (and a
// local rabbitmqctl), each of the two loads starts once the platform has consumed everything before it (the run before,
// the CSV's events): each is measured with the platform consuming that load alone, not the tail of the one before.
var gateway = new Uri(args.ElementAtOrDefault(0) ?? "http://127.0.0.1:8080");
var amqp = new Uri(args.ElementAtOrDefault(1) ?? "amqp://guest:guest@127.0.0.1:5672/");
var records = int.TryParse(args.ElementAtOrDefault(2), out var n) ? n : 100_000;
var grpcAddress = args.ElementAtOrDefault(3) is { Length: > 0 } g ? new Uri(g) : null;
var queuePrefix = args.ElementAtOrDefault(4) is { Length: > 0 } q ? q : null;
var cpu = new CpuPerRecord(int.TryParse(args.ElementAtOrDefault(5), out var pid) ? pid : null);
async Task UntilConsumedAsync(string before)
{
    if (queuePrefix is not null)
    {
        var waited = await QueueDepths.UntilDrainedAsync(queuePrefix, TimeSpan.FromMinutes(3));
        Console.WriteLine(waited is { } w ? $"queues empty before {before,-28}  after {w.TotalSeconds:F1} s" : $"queue depths not readable before {before}: not waited");
    }
    cpu.Close();
}
const int Students = 1000;

using var http = new HttpClient { BaseAddress = gateway, Timeout = TimeSpan.FromMinutes(30) };
// An administrator: it writes as a feed may and reads the outbox, which only administrators may.
string accessToken;
using (var token = await http.PostAsJsonAsync("/auth/dev/token", new { user = "admin-1" }))
{
    token.EnsureSuccessStatusCode();
    accessToken = (await token.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString()!;
    http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", accessToken);
}
var school = $"bench-{DateTime.UtcNow:HHmmss}";
var roster = new
{
    schools = new[] { new { schoolId = school, name = "Bench High" } },
    students = Enumerable.Range(0, Students).Select(i => new { studentId = $"{school}-{i}", schoolId = school, givenName = "B", familyName = $"{i}", gradeLevel = "9" }),
};
(await http.PostAsJsonAsync("/api/ingestion/v1/roster", roster)).EnsureSuccessStatusCode();

// Record i of a run: student i % Students on school day i / Students after `first` (every record new).
var first = new DateOnly(2024, 1, 1);
(string Student, string Date, string Status) Record(int i, DateOnly from) =>
    ($"{school}-{i % Students}", from.AddDays(i / Students).ToString("yyyy-MM-dd"), i % 9 == 0 ? "absent" : "present");

var csv = new StringBuilder("studentId,date,status\n");
for (var i = 0; i < records; i++)
{
    var (student, date, status) = Record(i, first);
    csv.Append(student).Append(',').Append(date).Append(',').Append(status).Append('\n');
}
var body = Encoding.UTF8.GetBytes(csv.ToString());
var sample = JsonSerializer.SerializeToUtf8Bytes(new { studentId = $"{school}-1", schoolId = school, date = "2024-01-01", status = "present", isCorrection = false, occurredAt = DateTimeOffset.UtcNow });

async Task<TimeSpan> UntilPublishedAsync(Stopwatch clock)
{
    while ((await http.GetFromJsonAsync<JsonElement>("/api/ingestion/v1/outbox")).GetProperty("pending").GetInt32() > 0)
    {
        await Task.Delay(50);
    }
    return clock.Elapsed;
}

// BEACON_BENCH_STREAMS_FIRST=1 sends the streams before the CSV: each load finds every student's history longer than the
// load before it did, and the platform's consumers spend more per record on a longer history, so a load's place in the
// run is part of its figure.
TimeSpan stored = default, published = default;
const int RecordsPerMessage = 500;
var streams = new List<(string Name, TimeSpan? Stored, TimeSpan? Published)>();
if (Environment.GetEnvironmentVariable("BEACON_BENCH_STREAMS_FIRST") == "1")
{
    await StreamsAsync();
    await CsvAsync();
}
else
{
    await CsvAsync();
    await StreamsAsync();
}
await UntilConsumedAsync("the raw loops");

async Task CsvAsync()
{
    await UntilConsumedAsync("the CSV");
    cpu.Start("CSV", records);
    var started = Stopwatch.StartNew();
    using (var content = new ByteArrayContent(body))
    {
        content.Headers.ContentType = new("text/csv");
        var response = await http.PostAsync("/api/ingestion/v1/attendance", content);
        response.EnsureSuccessStatusCode();
    }
    stored = started.Elapsed;
    published = await UntilPublishedAsync(started);
    cpu.Published();
}

// The same number of records as one client stream through the gateway's gRPC port, on days after the CSV's: first in
// messages of 500 records (StreamAttendanceBatches), then one record a message (StreamAttendance). An older build
// without the batched call answers Unimplemented: that stream is reported as not served.
async Task StreamsAsync()
{
    if (grpcAddress is null)
    {
        return;
    }
    using var channel = GrpcChannel.ForAddress(grpcAddress, new GrpcChannelOptions { Credentials = ChannelCredentials.Insecure });
    var client = new SignalFeed.SignalFeedClient(channel);
    var load = 1;
    foreach (var perMessage in new[] { RecordsPerMessage, 1 })
    {
        var name = $"gRPC {perMessage}/msg";
        await UntilConsumedAsync($"the {name} stream");
        var headers = new Metadata { { "authorization", $"Bearer {accessToken}" }, { "idempotency-key", $"{school}-stream-{perMessage}" } };
        var from = first.AddDays(load++ * ((records + Students - 1) / Students));
        cpu.Start(name, records);
        var clock = Stopwatch.StartNew();
        StreamSummary summary;
        try
        {
            summary = perMessage == 1 ? await StreamOneByOneAsync(client, headers, from) : await StreamBatchesAsync(client, headers, from, perMessage);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unimplemented)
        {
            Console.WriteLine($"{name}: not served by this build ({e.Status.Detail})");
            streams.Add((name, null, null));
            continue;
        }
        if (summary.Accepted != records)
        {
            throw new InvalidOperationException($"the stream stored {summary.Accepted} of {records} records ({summary.Rejected} rejected)");
        }
        var streamStored = clock.Elapsed;
        streams.Add((name, streamStored, await UntilPublishedAsync(clock)));
        cpu.Published();
    }
}

async Task<StreamSummary> StreamOneByOneAsync(SignalFeed.SignalFeedClient client, Metadata headers, DateOnly from)
{
    using var call = client.StreamAttendance(headers);
    for (var i = 0; i < records; i++)
    {
        var (student, date, status) = Record(i, from);
        await call.RequestStream.WriteAsync(new AttendanceRecordIn { StudentId = student, Date = date, Status = status });
    }
    await call.RequestStream.CompleteAsync();
    return await call;
}

async Task<StreamSummary> StreamBatchesAsync(SignalFeed.SignalFeedClient client, Metadata headers, DateOnly from, int perMessage)
{
    using var call = client.StreamAttendanceBatches(headers);
    for (var i = 0; i < records; i += perMessage)
    {
        var message = new AttendanceBatchIn();
        for (var j = i; j < Math.Min(records, i + perMessage); j++)
        {
            var (student, date, status) = Record(j, from);
            message.Records.Add(new AttendanceRecordIn { StudentId = student, Date = date, Status = status });
        }
        await call.RequestStream.WriteAsync(message);
    }
    await call.RequestStream.CompleteAsync();
    return await call;
}

// Baseline: the same number of messages of the same size, publisher confirms, one channel.
var factory = new ConnectionFactory { Uri = amqp };
await using var connection = await factory.CreateConnectionAsync();
await using var rabbit = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
var queue = (await rabbit.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true)).QueueName;

// Publishes `count` copies of `body` with publisher confirms, up to 256 unconfirmed at a time.
async Task<TimeSpan> RawLoopAsync(int count, byte[] body)
{
    var clock = Stopwatch.StartNew();
    const int InFlight = 256;
    var pending = new List<Task>(InFlight);
    for (var i = 0; i < count; i++)
    {
        pending.Add(rabbit.BasicPublishAsync("", queue, mandatory: false, new BasicProperties { Persistent = true }, body).AsTask());
        if (pending.Count == InFlight)
        {
            await Task.WhenAll(pending);
            pending.Clear();
        }
    }
    await Task.WhenAll(pending);
    return clock.Elapsed;
}

// Baseline 1: one message per record. Baseline 2: the layout Ingestion publishes (AttendanceBatchRecorded,
// up to 500 records per message), so the ratio compares the same payload on the same broker.
const int RecordsPerEvent = 500;
var batchBody = JsonSerializer.SerializeToUtf8Bytes(new { records = Enumerable.Repeat(JsonSerializer.Deserialize<JsonElement>(sample), RecordsPerEvent) });
var raw = await RawLoopAsync(records, sample);
var rawBatched = await RawLoopAsync((records + RecordsPerEvent - 1) / RecordsPerEvent, batchBody);

var ingestRate = records / published.TotalSeconds;
var rawRate = records / raw.TotalSeconds;
var rawBatchedRate = records / rawBatched.TotalSeconds;
Console.WriteLine($"records                             {records}");
Console.WriteLine($"stored (HTTP 200)                   {stored.TotalSeconds:F1} s  ({records / stored.TotalSeconds:F0} records/s)");
Console.WriteLine($"stored and published                {published.TotalSeconds:F1} s  ({ingestRate:F0} records/s, {RecordsPerEvent} records per event)");
foreach (var (name, streamStored, streamPublished) in streams.Where(x => x.Published is not null))
{
    Console.WriteLine($"{name + " stored",-36}{streamStored!.Value.TotalSeconds:F1} s  ({records / streamStored.Value.TotalSeconds:F0} records/s)");
    Console.WriteLine($"{name + " stored and published",-36}{streamPublished!.Value.TotalSeconds:F1} s  ({records / streamPublished.Value.TotalSeconds:F0} records/s)");
}
Console.WriteLine($"raw loop, one message per record    {raw.TotalSeconds:F1} s  ({rawRate:F0} records/s)");
Console.WriteLine($"raw loop, {RecordsPerEvent} records per message   {rawBatched.TotalSeconds:F2} s  ({rawBatchedRate:F0} records/s)");
Console.WriteLine($"ratio ingestion / raw per record    {ingestRate / rawRate:F3}");
foreach (var (name, _, streamPublished) in streams.Where(x => x.Published is not null))
{
    Console.WriteLine($"{"ratio " + name + " / raw per record",-36}{records / streamPublished!.Value.TotalSeconds / rawRate:F3}");
}
Console.WriteLine($"ratio ingestion / raw same batches  {ingestRate / rawBatchedRate:F3}");
Console.Write(cpu.Report());
