using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Beacon.Bench;

/// <summary>
/// The mixed-signal mode (issue #18 item 7): <c>AlertLatency --mix &lt;gateway&gt; [rate] [seconds] [students] [platform-pid]
/// [queue-prefix]</c>. Needs a running platform with no active model. Trains and promotes both cold-start models
/// (chronic absence and dropout), posts a roster (2 schools, 2 counselors each), opens every counselor's feed, then
/// streams <see cref="MixedPlan"/>'s signals through the gateway at a steady total rate, each kind to its own endpoint in
/// batches of up to 500, a school day after another. Reports per kind what was sent and accepted, signal → feed
/// latency of the planted crossings per reason (the feed entry's reason: "Attendance", "Behaviour", "Course
/// performance", "Dropout risk") and over all of them, the memory and CPU of each process (with its process id) and,
/// last, one line <c>RESULT bench-mixed ...</c>. Exit 0 when every planted indicator alert arrived.
/// </summary>
internal static class MixedSignals
{
    /// <summary>As in the attendance mode: JIT, first predictions, the roster reaching every service. No planted crossing falls in it.</summary>
    private const int WarmupSeconds = 45;

    /// <summary>The feed entry's body starts with the reason's label (Notifications' Worklist.Describe).</summary>
    private static readonly (string Label, string Family)[] Reasons =
        [("Attendance", "chronic-absence"), ("Behaviour", "behavior"), ("Course performance", "course-performance"), ("Dropout risk", "dropout")];

    public static async Task<int> RunAsync(string[] args)
    {
        var gateway = new Uri(args.ElementAtOrDefault(0) ?? "http://127.0.0.1:8080");
        var rate = double.TryParse(args.ElementAtOrDefault(1), CultureInfo.InvariantCulture, out var r) ? r : 2000;
        var seconds = int.TryParse(args.ElementAtOrDefault(2), out var s) ? s : 300;
        var studentCount = int.TryParse(args.ElementAtOrDefault(3), out var n) ? n : 3000;
        var sampler = int.TryParse(args.ElementAtOrDefault(4), out var pid) ? new ProcessSampler(pid, args.ElementAtOrDefault(5)) : null;
        // The lines need >= 10 school days and crossings spread over the run: keep at least 30 days.
        studentCount = Math.Max(20, Math.Min(studentCount, (int)(rate * seconds / (30 * MixedPlan.PerStudentDay))));
        var dayCount = (int)Math.Ceiling(rate * seconds / (studentCount * MixedPlan.PerStudentDay));

        using var http = await BenchPlatform.ConnectAsync(gateway);
        var run = $"mix{DateTime.UtcNow:HHmmss}";
        var (counselors, students) = await BenchPlatform.PostDistrictAsync(http, run, studentCount);
        var models = new List<string>();
        foreach (var (kind, size) in new[] { ("chronic-absence", 1500), ("dropout", 5000) })
        {
            if (await BenchPlatform.TrainAndPromoteAsync(http, kind, size) is not { } line)
            {
                return 2;
            }
            models.Add(line);
        }

        var warmupDays = (int)Math.Ceiling(WarmupSeconds * rate / (studentCount * MixedPlan.PerStudentDay));
        var plan = new MixedPlan(run, students, dayCount, warmupDays);
        // Per (student, counselor, reason): the first feed entry's arrival; every entry's reason is counted.
        var arrivals = new ConcurrentDictionary<(string Student, string Counselor, string Family), TimeSpan>();
        var entriesByFamily = new ConcurrentDictionary<string, int>();
        var clock = Stopwatch.StartNew();
        using var streams = new CancellationTokenSource();
        var readers = BenchPlatform.OpenFeeds(http, counselors, clock, streams.Token, (c, entry, at) =>
        {
            var body = entry.TryGetProperty("body", out var b) ? b.GetString() ?? "" : "";
            var family = Reasons.FirstOrDefault(x => body.StartsWith(x.Label, StringComparison.Ordinal)).Family ?? "other";
            entriesByFamily.AddOrUpdate(family, 1, (_, v) => v + 1);
            arrivals.TryAdd((entry.GetProperty("studentId").GetString()!, c, family), at);
        });
        await Task.Delay(1000);

        using var sampling = new CancellationTokenSource();
        var sampled = sampler?.RunAsync(sampling.Token) ?? Task.CompletedTask;
        var sender = new MixedSender(http, clock, rate);
        clock.Restart();
        // The clock's zero on the wall clock, to compare the bench's moments with the times Early warning records.
        var epoch = DateTimeOffset.UtcNow;
        var give = TimeSpan.FromSeconds(seconds * 1.5);
        for (var d = 0; d < dayCount && clock.Elapsed < give; d++)
        {
            // A day's signals in order; each kind fills its own batch, and a day's leftovers go before the next day's.
            var triggers = plan.Planted.Count;
            var daySignals = plan.DaySignals(d);
            var byTrigger = plan.Planted.Skip(triggers).ToLookup(p => p.Trigger);
            await sender.SendDayAsync(daySignals, byTrigger);
        }
        var sendTime = await sender.FinishAsync();
        await sampling.CancelAsync();

        // Let the pipeline finish: every planted indicator alert that was sent (at most 120 s), then 10 s more for the models.
        var expected = sender.SentAt.Keys.SelectMany(p => counselors.Where(c => p.StudentId.StartsWith(BenchPlatform.SchoolOf(c) + "-", StringComparison.Ordinal))
            .Select(c => (p, c))).ToList();
        var indicators = expected.Where(e => e.p.Family != "dropout").ToList();
        var drain = Stopwatch.StartNew();
        while (indicators.Any(e => !arrivals.ContainsKey((e.p.StudentId, e.c, e.p.Family))) && drain.Elapsed < TimeSpan.FromSeconds(120))
        {
            await Task.Delay(250);
        }
        await Task.Delay(TimeSpan.FromSeconds(10));
        var drained = drain.Elapsed;
        await BenchPlatform.CloseFeedsAsync(streams, readers);
        await sampled;

        Console.WriteLine($"target rate                  {rate:F0} signals/s for {seconds} s ({studentCount} students, {dayCount} school days; "
            + $"{MixedPlan.PerStudentDay:F2} signals per student-day: attendance 1, answers 3 a day present, marks 0.8, LMS 0.6, incidents 0.025)");
        Console.WriteLine($"models                       {string.Join("; ", models)}; both score live");
        Console.WriteLine($"warm-up                      the first {WarmupSeconds} s ({warmupDays} school days): no planted crossing in it");
        Console.WriteLine($"sent                         {sender.Sent} signals in {sendTime.TotalSeconds:F1} s = {sender.Sent / sendTime.TotalSeconds:F0} signals/s");
        Console.WriteLine();
        Console.Write(sender.KindTable(sendTime));
        Console.WriteLine();
        var all = new List<double>();
        var entries = new List<TimedEntry>();
        var rows = new StringBuilder("reason (planted)        expected  arrived  before the signal  p50 ms  p95 ms  p99 ms  max ms\n");
        foreach (var (label, family) in Reasons)
        {
            var mine = expected.Where(e => e.p.Family == family).ToList();
            var times = mine.Where(e => arrivals.ContainsKey((e.p.StudentId, e.c, family)))
                .Select(e => (arrivals[(e.p.StudentId, e.c, family)] - sender.SentAt[e.p]).TotalMilliseconds).ToList();
            var timed = times.Where(t => t >= 0).Order().ToArray();
            entries.AddRange(mine.Where(e => arrivals.TryGetValue((e.p.StudentId, e.c, family), out var at) && at >= sender.SentAt[e.p])
                .Select(e => new TimedEntry(e.p.StudentId, family, epoch + sender.SentAt[e.p], epoch + arrivals[(e.p.StudentId, e.c, family)],
                    (arrivals[(e.p.StudentId, e.c, family)] - sender.SentAt[e.p]).TotalMilliseconds)));
            all.AddRange(timed);
            rows.AppendLine(CultureInfo.InvariantCulture,
                $"{label,-22} {mine.Count,9} {times.Count,8} {times.Count - timed.Length,18} {BenchPlatform.P(timed, 0.5),7:F0} {BenchPlatform.P(timed, 0.95),7:F0} {BenchPlatform.P(timed, 0.99),7:F0} {(timed.Length > 0 ? timed[^1] : double.NaN),7:F0}");
        }
        var sorted = all.Order().ToArray();
        Console.Write(rows);
        Console.WriteLine($"(per counselor: 2 of each student's school. Dropout risk: the model flags about the top 10 %, so a planted student it does not flag");
        Console.WriteLine($" is not a miss; an entry before the planted signal was raised by earlier signals and is not timed. Drain after sending {drained.TotalSeconds:F0} s.)");
        Console.WriteLine($"feed entries by reason       {string.Join(", ", entriesByFamily.OrderBy(x => x.Key, StringComparer.Ordinal).Select(x => $"{x.Key} {x.Value}"))} (planted and not)");
        Console.WriteLine($"signal -> feed latency, all  p50 {BenchPlatform.P(sorted, 0.5):F0} ms, p95 {BenchPlatform.P(sorted, 0.95):F0} ms, p99 {BenchPlatform.P(sorted, 0.99):F0} ms over {sorted.Length} timed alerts (goal: p95 < 2,000 ms)");
        Console.WriteLine(await DropoutScoresAsync(http, plan));
        var (causes, fromRaisingBatch) = await AlertCauses.DescribeAsync(http, counselors.Select(BenchPlatform.SchoolOf), entries,
            (student, kind, before) => sender.BatchesSent.TryGetValue((student, kind), out var times)
                && times.Select(t => epoch + t).Where(t => t <= before).ToList() is { Count: > 0 } sentBefore ? sentBefore.Max() : null);
        Console.WriteLine(causes);
        // The same alerts, each timed from the batch that raised it: a model alert raised by a later day's signals is the model
        // answering new data, and its latency from those is the platform's.
        var raising = fromRaisingBatch.Order().ToArray();
        Console.WriteLine($"from the raising batch, all  p50 {BenchPlatform.P(raising, 0.5):F0} ms, p95 {BenchPlatform.P(raising, 0.95):F0} ms, p99 {BenchPlatform.P(raising, 0.99):F0} ms over {raising.Length} timed alerts");
        var (memory, growth, lateGrowth) = sampler?.Report() ?? ("", double.NaN, double.NaN);
        Console.WriteLine();
        Console.Write(memory);
        var arrivedIndicators = indicators.Count(e => arrivals.ContainsKey((e.p.StudentId, e.c, e.p.Family)));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT bench-mixed rate={rate:F0} achieved={sender.Sent / sendTime.TotalSeconds:F0} p50={BenchPlatform.P(sorted, 0.5):F0} p95={BenchPlatform.P(sorted, 0.95):F0} p99={BenchPlatform.P(sorted, 0.99):F0} "
            + $"timed={sorted.Length} indicators_arrived={arrivedIndicators}/{indicators.Count} {sender.RatesForResult(sendTime)} rss_growth_max_mib={growth:F0} "
            + $"rss_growth_second_half_max_mib={lateGrowth:F0} p95_from_raising_batch={BenchPlatform.P(raising, 0.95):F0}"));
        return arrivedIndicators == indicators.Count ? 0 : 1;
    }

    /// <summary>
    /// The dropout model's scores of the planted course and behaviour students after the run (at most 40 of each, from
    /// Early warning's risk API): why a planted student has, or has not, a dropout entry in the feeds.
    /// </summary>
    private static async Task<string> DropoutScoresAsync(HttpClient http, MixedPlan plan)
    {
        var text = new StringBuilder();
        foreach (var family in new[] { "course-performance", "behavior" })
        {
            var scores = new List<(double Score, double Threshold, bool Flagged)>();
            foreach (var id in plan.Planted.Where(p => p.Family == family).Select(p => p.StudentId).Distinct().Take(40))
            {
                using var response = await http.GetAsync($"/api/early-warning/v1/students/{id}/risk?kind=dropout");
                if (response.IsSuccessStatusCode)
                {
                    var risk = await response.Content.ReadFromJsonAsync<JsonElement>();
                    double Number(string name) => risk.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;
                    scores.Add((Number("score"), Number("threshold"), risk.TryGetProperty("flagged", out var f) && f.ValueKind == JsonValueKind.True));
                }
            }
            var sorted = scores.Select(x => x.Score).Order().ToArray();
            text.Append(CultureInfo.InvariantCulture, $"{(text.Length == 0 ? "dropout scores after the run" : "                            ")} {family} students: {scores.Count} scored, ")
                .AppendLine(CultureInfo.InvariantCulture, $"median {BenchPlatform.P(sorted, 0.5):P0}, max {(sorted.Length > 0 ? sorted[^1] : double.NaN):P0}, flagged {scores.Count(x => x.Flagged)} (threshold {(scores.Count > 0 ? scores[0].Threshold : double.NaN):P0})");
        }
        return text.ToString().TrimEnd();
    }
}

/// <summary>Batches per kind, paces the total rate, remembers when each planted signal's batch was sent.</summary>
internal sealed class MixedSender(HttpClient http, Stopwatch clock, double rate)
{
    private const int BatchSize = 500;
    private readonly Dictionary<SignalKind, List<Signal>> buffers = SignalKind.All.ToDictionary(k => k, _ => new List<Signal>());
    private readonly ConcurrentDictionary<SignalKind, (long Rows, long Batches, long Failed, long Stored)> counts = [];
    private readonly ConcurrentDictionary<SignalKind, ConcurrentBag<double>> postMs = [];
    private readonly SemaphoreSlim inFlight = new(16);
    private readonly List<Task> posts = [];
    private readonly Dictionary<Signal, Planted[]> pending = [];

    public ConcurrentDictionary<Planted, TimeSpan> SentAt { get; } = [];

    /// <summary>When each batch holding a student's signals of a kind was sent: what raised an alert, if not the planted signal.</summary>
    public Dictionary<(string Student, string Kind), List<TimeSpan>> BatchesSent { get; } = [];
    public long Sent { get; private set; }

    public async Task SendDayAsync(List<Signal> day, ILookup<Signal, Planted> planted)
    {
        foreach (var group in planted)
        {
            pending[group.Key] = [.. group];
        }
        foreach (var signal in day)
        {
            var buffer = buffers[signal.Kind];
            buffer.Add(signal);
            if (buffer.Count == BatchSize)
            {
                await FlushAsync(signal.Kind);
            }
        }
        foreach (var kind in SignalKind.All)
        {
            await FlushAsync(kind);
        }
    }

    public async Task<TimeSpan> FinishAsync()
    {
        await Task.WhenAll(posts);
        return clock.Elapsed;
    }

    private async Task FlushAsync(SignalKind kind)
    {
        var batch = buffers[kind].ToArray();
        if (batch.Length == 0)
        {
            return;
        }
        buffers[kind].Clear();
        await inFlight.WaitAsync();
        var at = clock.Elapsed;
        foreach (var signal in batch)
        {
            if (pending.Remove(signal, out var planted))
            {
                foreach (var p in planted)
                {
                    SentAt[p] = at;
                }
            }
        }
        foreach (var student in batch.Select(x => x.StudentId).Distinct())
        {
            (BatchesSent.TryGetValue((student, kind.Name), out var times) ? times : BatchesSent[(student, kind.Name)] = []).Add(at);
        }
        posts.Add(Task.Run(() => PostAsync(kind, batch)));
        Sent += batch.Length;
        var due = TimeSpan.FromSeconds(Sent / rate);
        if (due > clock.Elapsed)
        {
            await Task.Delay(due - clock.Elapsed);
        }
    }

    private async Task PostAsync(SignalKind kind, Signal[] batch)
    {
        try
        {
            var rows = batch.Select(x => x.Row).ToArray();
            using var request = new HttpRequestMessage(HttpMethod.Post, kind.Path)
            {
                Content = kind.Collection is { } name ? JsonContent.Create(new Dictionary<string, object> { [name] = rows }) : JsonContent.Create(rows),
            };
            if (kind == SignalKind.Lms)
            {
                request.Headers.Add("X-Experience-API-Version", "1.0.3");
                request.Headers.Add("X-Beacon-Source", "bench");
            }
            var t0 = clock.Elapsed;
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            postMs.GetOrAdd(kind, _ => []).Add((clock.Elapsed - t0).TotalMilliseconds);
            var stored = response.IsSuccessStatusCode ? StoredOf(body) : 0;
            var failed = response.IsSuccessStatusCode ? 0 : batch.Length;
            if (!response.IsSuccessStatusCode && counts.GetValueOrDefault(kind).Failed == 0)
            {
                Console.Error.WriteLine($"{kind.Name}: HTTP {(int)response.StatusCode} {body[..Math.Min(body.Length, 400)]}");
            }
            counts.AddOrUpdate(kind, (batch.Length, 1, failed, stored), (_, c) => (c.Rows + batch.Length, c.Batches + 1, c.Failed + failed, c.Stored + stored));
        }
        finally
        {
            inFlight.Release();
        }
    }

    /// <summary>Rows a batch stored: accepted + corrected from a batch summary, or the ids an LRS answers with.</summary>
    private static long StoredOf(string body)
    {
        using var json = JsonDocument.Parse(body.Length == 0 ? "{}" : body);
        var root = json.RootElement;
        if (root.ValueKind == JsonValueKind.Array)
        {
            return root.GetArrayLength();
        }
        long Count(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : 0;
        return Count("accepted") + Count("corrected");
    }

    public string KindTable(TimeSpan sendTime)
    {
        var text = new StringBuilder("signal kind   share    sent   signals/s  batches  stored  failed   POST p50 ms  p95 ms\n");
        foreach (var kind in SignalKind.All)
        {
            var c = counts.GetValueOrDefault(kind);
            var ms = postMs.GetValueOrDefault(kind)?.Order().ToArray() ?? [];
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{kind.Name,-12} {100.0 * c.Rows / Math.Max(1, Sent),5:F1} % {c.Rows,7} {c.Rows / sendTime.TotalSeconds,10:F0} {c.Batches,8} {c.Stored,7} {c.Failed,7} {BenchPlatform.P(ms, 0.5),12:F0} {BenchPlatform.P(ms, 0.95),7:F0}");
        }
        return text.ToString();
    }

    public string RatesForResult(TimeSpan sendTime) =>
        string.Join(' ', SignalKind.All.Select(k => string.Create(CultureInfo.InvariantCulture, $"{k.Name}_per_s={counts.GetValueOrDefault(k).Rows / sendTime.TotalSeconds:F0}")))
        + $" failed={counts.Values.Sum(c => c.Failed)}";
}
