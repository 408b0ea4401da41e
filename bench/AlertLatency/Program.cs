using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using Beacon.Bench;

// Usage: AlertLatency <gateway-url> [rate=2000] [seconds=300] [students=6000] [model|no-model]
//        AlertLatency --mix <gateway-url> [rate=2000] [seconds=300] [students=3000] [platform-pid]   (MixedSignals.cs)
// Needs a running platform with no active model (./beacon up --no-demo). With "model" (the default) it first
// trains and promotes a chronic-absence model through the API, so every record is also scored, as in a
// district's run; where its alert comes first, the counselor's feed entry about the student is the model's (counted apart,
// and for a planted student timed from the batch that raised it). Posts a roster (2 schools, 2
// counselors each), opens every counselor's feed stream (server-sent events), then streams attendance
// at a steady rate for the given time. A fifth of the students are planted to cross the chronic-absence
// line (>= 10 % absent after >= 10 days) exactly once, at a known record spread over the run; the
// latency of an alert is from the moment the batch holding that record is sent to the moment its
// feed-entry event reaches a counselor's stream. Prints the send rate reached and p50/p95/p99 (and, apart, those of
// the warm-up cohort: one student in 50 crossing in the first 45 s, while the platform is still cold).
if (args.FirstOrDefault() == "--mix")
{
    return await MixedSignals.RunAsync(args[1..]);
}
var gateway = new Uri(args.ElementAtOrDefault(0) ?? "http://127.0.0.1:8080");
var rate = double.TryParse(args.ElementAtOrDefault(1), out var r) ? r : 2000;
var seconds = int.TryParse(args.ElementAtOrDefault(2), out var s) ? s : 300;
var studentCount = int.TryParse(args.ElementAtOrDefault(3), out var n) ? n : 6000;
// Crossings need >= 10 school days and are spread over the run: keep at least 30 days per student.
studentCount = Math.Max(10, Math.Min(studentCount, (int)(rate * seconds / 30)));
var withModel = args.ElementAtOrDefault(4) != "no-model";
const int BatchSize = 500;
const double Threshold = 0.10;
const int MinimumDays = 10;
// The first seconds of the stream are a warm-up: JIT, the model's first predictions, the roster reaching every
// service, and the first alerts through Interventions and Notifications (a small cohort of students crosses the
// line in it, untimed for the goal; their latency is printed apart). Measured from a fresh start, the first
// alerts took 8-13 s at p95 before the warm-up existed; with a warm-up but no alert in it, the first timed alerts
// still met a cold Notifications (about 2 s for the first few dozen).
const int WarmupSeconds = 45;

using var http = await BenchPlatform.ConnectAsync(gateway);
var run = $"lat{DateTime.UtcNow:HHmmss}";
var (counselors, students) = await BenchPlatform.PostDistrictAsync(http, run, studentCount);

var modelLine = "none (rule alerts only)";
if (withModel)
{
    if (await BenchPlatform.TrainAndPromoteAsync(http, "chronic-absence", 1500) is not { } trained)
    {
        return 2;
    }
    modelLine = $"{trained}; every record is scored";
}

// Days: enough for the run; school days back from last week so none is in the future.
var dayCount = (int)Math.Ceiling(rate * seconds / studentCount);
var days = BenchPlatform.SchoolDays(dayCount);
var random = new Random(42);
var warmupDays = (int)Math.Ceiling(WarmupSeconds * rate / studentCount);
// Planted crossings: absences on the days just before and on a chosen day c, so the running rate first
// reaches the line on day c; the student is present on every other day (one crossing, one alert).
var absences = new Dictionary<string, HashSet<int>>();
var trigger = new Dictionary<string, int>();   // student -> day index of the record that crosses the line
var warmupCohort = new HashSet<string>();      // students whose crossing falls in the warm-up: not timed for the goal
void Plant(string id, int c)
{
    var a = (int)Math.Ceiling(Threshold * (c + 1));
    absences[id] = [.. Enumerable.Range(c - a + 1, a)];
    var absent = 0;
    for (var day = 0; day < dayCount; day++)
    {
        absent += absences[id].Contains(day) ? 1 : 0;
        if (day + 1 >= MinimumDays && (double)absent / (day + 1) >= Threshold)
        {
            trigger[id] = day;
            break;
        }
    }
}
foreach (var (id, _) in students.Where((_, i) => i % 5 == 0))
{
    Plant(id, random.Next(Math.Min(Math.Max(MinimumDays - 1, warmupDays), dayCount - 1), dayCount));
}
// One student in 50 crosses during the warm-up (the rule needs 10 days, so from day 10 to the warm-up's end).
if (warmupDays > MinimumDays)
{
    foreach (var (id, _) in students.Where((_, i) => i % 50 == 1))
    {
        Plant(id, random.Next(MinimumDays, warmupDays));
        warmupCohort.Add(id);
    }
}

// Feed streams first, so no entry is missed.
var arrivals = new ConcurrentDictionary<(string Student, string Counselor), TimeSpan>();
var modelAlerts = 0L;
var modelArrivals = new ConcurrentBag<TimeSpan>();   // when each model alert reached a feed: the warm-up's queue
var clock = Stopwatch.StartNew();
using var streams = new CancellationTokenSource();
var readers = BenchPlatform.OpenFeeds(http, counselors, clock, streams.Token, (c, entry, at) =>
{
    // A counselor hears of a student once per worklist change ("Attendance: Missed 10 of 94 ... " from the rule, "Attendance:
    // Model: 78 % chance ..." when the model flagged the student first): the first entry about a planted student is when
    // the counselor was told, whichever raised it.
    if (entry.TryGetProperty("body", out var body) && body.GetString() is { } text && text.IndexOf(": ", StringComparison.Ordinal) is var colon and >= 0
        && text.AsSpan(colon + 2).StartsWith("Model:", StringComparison.Ordinal))
    {
        Interlocked.Increment(ref modelAlerts);
        modelArrivals.Add(at);
    }
    arrivals.TryAdd((entry.GetProperty("studentId").GetString()!, c), at);
});
await Task.Delay(1000);

var sentAt = new ConcurrentDictionary<string, TimeSpan>();
var batchesOf = new ConcurrentDictionary<string, List<TimeSpan>>();   // a planted student's batches, when each was sent
var rows = days.SelectMany((d, di) => students.Select(x => (x.Id, Day: di, Date: d.ToString("yyyy-MM-dd"),
    Status: absences.TryGetValue(x.Id, out var set) && set.Contains(di) ? "absent" : "present")));
var sent = 0L;
long failed = 0;
var httpLatencies = new ConcurrentBag<double>();
var inFlight = new SemaphoreSlim(16);
var posts = new List<Task>();
clock.Restart();
var epoch = DateTimeOffset.UtcNow;   // the clock's zero on the wall clock, which Early warning's alert times are on
var sendUntil = TimeSpan.FromSeconds(seconds);
foreach (var chunk in rows.Chunk(BatchSize))
{
    if (clock.Elapsed > sendUntil + TimeSpan.FromSeconds(seconds / 2.0))
    {
        break;   // far behind the rate: stop rather than run forever
    }
    await inFlight.WaitAsync();
    var at = clock.Elapsed;
    foreach (var row in chunk.Where(x => trigger.ContainsKey(x.Id)))
    {
        batchesOf.GetOrAdd(row.Id, _ => []).Add(at);
        if (trigger[row.Id] == row.Day)
        {
            sentAt[row.Id] = at;
        }
    }
    posts.Add(Task.Run(async () =>
    {
        try
        {
            var t0 = clock.Elapsed;
            using var response = await http.PostAsJsonAsync("/api/ingestion/v1/attendance?source=bench",
                new { records = chunk.Select(x => new { studentId = x.Id, date = x.Date, status = x.Status }) });
            httpLatencies.Add((clock.Elapsed - t0).TotalMilliseconds);
            if (!response.IsSuccessStatusCode)
            {
                Interlocked.Add(ref failed, chunk.Length);
            }
        }
        finally
        {
            inFlight.Release();
        }
    }));
    sent += chunk.Length;
    var due = TimeSpan.FromSeconds(sent / rate);
    if (due > clock.Elapsed)
    {
        await Task.Delay(due - clock.Elapsed);
    }
}
await Task.WhenAll(posts);
var sendTime = clock.Elapsed;
// Let the pipeline finish: wait for the alerts of every trigger that was sent (at most 120 s).
var allExpected = sentAt.Keys.SelectMany(id => counselors.Where(c => id.StartsWith(BenchPlatform.SchoolOf(c) + "-", StringComparison.Ordinal)).Select(c => (id, c))).ToList();
var expected = allExpected.Where(e => !warmupCohort.Contains(e.id)).ToList();
var warmupExpected = allExpected.Where(e => warmupCohort.Contains(e.id)).ToList();
var drainClock = Stopwatch.StartNew();
while (allExpected.Any(e => !arrivals.ContainsKey(e)) && drainClock.Elapsed < TimeSpan.FromSeconds(120))
{
    await Task.Delay(250);
}
await BenchPlatform.CloseFeedsAsync(streams, readers);

// From the planted record's batch; when the model told the counselor before it was sent, from the student's latest batch sent
// before that entry (the record that raised the model's alert), so an earlier warning is timed, not counted as negative.
TimeSpan From((string id, string c) e) => arrivals[e] >= sentAt[e.id] ? sentAt[e.id] : batchesOf[e.id].Where(t => t <= arrivals[e]).DefaultIfEmpty(sentAt[e.id]).Max();
double[] LatenciesOf(List<(string id, string c)> alerts) => alerts.Where(arrivals.ContainsKey).Select(e => (arrivals[e] - From(e)).TotalMilliseconds).Order().ToArray();
var latencies = LatenciesOf(expected);
var warmupLatencies = LatenciesOf(warmupExpected);
double P(double[] xs, double p) => BenchPlatform.P(xs, p);
var posted = httpLatencies.Order().ToArray();
Console.WriteLine($"target rate                  {rate:F0} records/s for {seconds} s ({studentCount} students, {dayCount} days)");
Console.WriteLine($"model                        {modelLine}");
Console.WriteLine($"warm-up                      the first {WarmupSeconds} s ({warmupDays} school days); only a cohort of {warmupCohort.Count} students crosses in it, timed apart");
Console.WriteLine($"sent                         {sent} records in {sendTime.TotalSeconds:F1} s = {sent / sendTime.TotalSeconds:F0} records/s ({failed} in failed batches)");
Console.WriteLine($"batch POST latency (500 rows) p50 {P(posted, 0.5):F0} ms, p95 {P(posted, 0.95):F0} ms, p99 {P(posted, 0.99):F0} ms");
Console.WriteLine($"alerts expected in feeds     {expected.Count} ({expected.Select(e => e.id).Distinct().Count()} students x 2 counselors); arrived {latencies.Length}; drain after sending {drainClock.Elapsed.TotalSeconds:F1} s");
if (withModel)
{
    Console.WriteLine($"model entries in feeds       {Interlocked.Read(ref modelAlerts)} (the model told a counselor of a student before any rule alert)");
}
if (warmupExpected.Count > 0)
{
    Console.WriteLine($"warm-up alerts (cold start)  {warmupLatencies.Length} of {warmupExpected.Count} arrived; p50 {P(warmupLatencies, 0.5):F0} ms, p95 {P(warmupLatencies, 0.95):F0} ms, max {(warmupLatencies.Length > 0 ? warmupLatencies[^1] : double.NaN):F0} ms");
    // Why a warm-up alert was slow shows beside what else reached the feeds then: per 5 s of the run, the warm-up
    // alerts sent (and their slowest latency) and the model's alerts that arrived.
    var buckets = Enumerable.Range(0, (WarmupSeconds + 15) / 5).Select(b => (
        From: b * 5,
        Sent: warmupExpected.Where(e => arrivals.ContainsKey(e) && (int)(From(e).TotalSeconds / 5) == b)
            .Select(e => (arrivals[e] - From(e)).TotalMilliseconds).ToList(),
        Model: modelArrivals.Count(t => (int)(t.TotalSeconds / 5) == b)));
    Console.WriteLine("warm-up timeline (s: warm-up alerts sent, slowest ms; model alerts arrived)  " + string.Join("  ",
        buckets.Select(b => $"{b.From}: {b.Sent.Count}, {(b.Sent.Count > 0 ? b.Sent.Max() : 0):F0}; {b.Model}")));
    // And where each alert's time went, warm-up and steady apart: up to Early warning's alert (lead: ingestion to its
    // message; wait: queued and applied there) and the rest, Interventions and Notifications to the feed.
    foreach (var (label, cohort) in new[] { ("warm-up cohort", warmupExpected), ("after the warm-up", expected) })
    {
        var timed = cohort.Where(arrivals.ContainsKey).Select(e => new TimedEntry(e.id, "chronic-absence", epoch + From(e), epoch + arrivals[e],
            (arrivals[e] - From(e)).TotalMilliseconds)).ToList();
        var (causes, _) = await AlertCauses.DescribeAsync(http, counselors.Select(BenchPlatform.SchoolOf), timed, (_, _, _) => null);
        Console.WriteLine($"{label}: {causes}");
    }
}
var early = expected.Count(e => arrivals.TryGetValue(e, out var a) && a < sentAt[e.id]);
Console.WriteLine($"told before the planted record {early} of {expected.Count} (the model flagged the student first; timed from the student's latest batch before the entry)");
// Where in the run a tail comes from (a start, a growing cost, a burst): per 30 s of sending, the alerts timed and their p95.
Console.WriteLine("timeline (s: alerts sent, p95 ms)  " + string.Join("  ", expected.Where(arrivals.ContainsKey)
    .GroupBy(e => (int)(From(e).TotalSeconds / 30)).OrderBy(g => g.Key)
    .Select(g => (From: g.Key * 30, Ms: g.Select(e => (arrivals[e] - From(e)).TotalMilliseconds).Order().ToArray()))
    .Select(w => $"{w.From}: {w.Ms.Length}, {P(w.Ms, 0.95):F0}")));
Console.WriteLine($"signal -> feed latency       p50 {P(latencies, 0.5):F0} ms, p95 {P(latencies, 0.95):F0} ms, p99 {P(latencies, 0.99):F0} ms, max {(latencies.Length > 0 ? latencies[^1] : double.NaN):F0} ms");
Console.WriteLine($"RESULT rate={rate:F0} achieved={sent / sendTime.TotalSeconds:F0} p50={P(latencies, 0.5):F0} p95={P(latencies, 0.95):F0} p99={P(latencies, 0.99):F0} arrived={latencies.Length}/{expected.Count}");
return latencies.Length == expected.Count ? 0 : 1;
