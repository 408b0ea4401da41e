using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using RabbitMQ.Client;

// Usage: IngestionThroughput <gateway-url> <amqp-uri> [records=100000]
// Needs a running platform (./beacon up --no-demo). Posts a roster, then N attendance records as CSV
// through the gateway, and measures until every record is stored AND its event published (Ingestion's
// outbox drained). Then, in the same run, a raw RabbitMQ.Client loop publishes N messages of the same
// size with publisher confirms. Prints both rates and their ratio.
var gateway = new Uri(args.ElementAtOrDefault(0) ?? "http://127.0.0.1:8080");
var amqp = new Uri(args.ElementAtOrDefault(1) ?? "amqp://guest:guest@127.0.0.1:5672/");
var records = int.TryParse(args.ElementAtOrDefault(2), out var n) ? n : 100_000;
const int Students = 1000;

using var http = new HttpClient { BaseAddress = gateway, Timeout = TimeSpan.FromMinutes(30) };
// An administrator: it writes as a feed may and reads the outbox, which only administrators may.
using (var token = await http.PostAsJsonAsync("/auth/dev/token", new { user = "admin-1" }))
{
    token.EnsureSuccessStatusCode();
    http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer",
        (await token.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString());
}
var school = $"bench-{DateTime.UtcNow:HHmmss}";
var roster = new
{
    schools = new[] { new { schoolId = school, name = "Bench High" } },
    students = Enumerable.Range(0, Students).Select(i => new { studentId = $"{school}-{i}", schoolId = school, givenName = "B", familyName = $"{i}", gradeLevel = "9" }),
};
(await http.PostAsJsonAsync("/api/ingestion/v1/roster", roster)).EnsureSuccessStatusCode();

var csv = new StringBuilder("studentId,date,status\n");
var first = new DateOnly(2024, 1, 1);
for (var i = 0; i < records; i++)
{
    csv.Append($"{school}-{i % Students},{first.AddDays(i / Students):yyyy-MM-dd},{(i % 9 == 0 ? "absent" : "present")}\n");
}
var body = Encoding.UTF8.GetBytes(csv.ToString());
var sample = JsonSerializer.SerializeToUtf8Bytes(new { studentId = $"{school}-1", schoolId = school, date = "2024-01-01", status = "present", isCorrection = false, occurredAt = DateTimeOffset.UtcNow });

var clock = Stopwatch.StartNew();
using (var content = new ByteArrayContent(body))
{
    content.Headers.ContentType = new("text/csv");
    var response = await http.PostAsync("/api/ingestion/v1/attendance", content);
    response.EnsureSuccessStatusCode();
}
var stored = clock.Elapsed;
while ((await http.GetFromJsonAsync<JsonElement>("/api/ingestion/v1/outbox")).GetProperty("pending").GetInt32() > 0)
{
    await Task.Delay(50);
}
var published = clock.Elapsed;

// Baseline: the same number of messages of the same size, publisher confirms, one channel.
var factory = new ConnectionFactory { Uri = amqp };
await using var connection = await factory.CreateConnectionAsync();
await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
var queue = (await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true)).QueueName;
clock.Restart();
const int InFlight = 256;
var pending = new List<Task>(InFlight);
for (var i = 0; i < records; i++)
{
    pending.Add(channel.BasicPublishAsync("", queue, mandatory: false, new BasicProperties { Persistent = true }, sample).AsTask());
    if (pending.Count == InFlight)
    {
        await Task.WhenAll(pending);
        pending.Clear();
    }
}
await Task.WhenAll(pending);
var raw = clock.Elapsed;

var ingestRate = records / published.TotalSeconds;
var rawRate = records / raw.TotalSeconds;
Console.WriteLine($"records                     {records}");
Console.WriteLine($"stored (HTTP 200)           {stored.TotalSeconds:F1} s  ({records / stored.TotalSeconds:F0} records/s)");
Console.WriteLine($"stored and published        {published.TotalSeconds:F1} s  ({ingestRate:F0} records/s)");
Console.WriteLine($"raw publisher-confirms loop {raw.TotalSeconds:F1} s  ({rawRate:F0} messages/s)");
Console.WriteLine($"ratio ingestion / raw       {ingestRate / rawRate:F3}");
