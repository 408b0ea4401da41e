using System.Diagnostics;
using System.Globalization;
using Beacon.Contracts.Events;
using Beacon.Mastery.Domain;
using Beacon.Mastery.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.Mastery.Evaluation;

/// <summary>
/// <c>Mastery bench-update [answers]</c>: latency of one online update, in process, on a SQLite file —
/// the whole <see cref="MasteryTracker"/> step (read, BKT update, history, outbox, commit) against the
/// baseline of committing one bare row, and the BKT arithmetic alone. Warm-up answers are not counted.
/// </summary>
public static class UpdateBenchmark
{
    /// <summary>The benchmarks' answers: 100 students, 7 skills, 60 % right, a minute apart, in time order (seeded).</summary>
    internal static List<ItemResponseRecorded> SyntheticAnswers(int count)
    {
        var random = new Random(1);
        return [.. Enumerable.Range(0, count)
            .Select(i => new ItemResponseRecorded($"stu-{i % 100}", $"item-{i}", [$"skill-{i % 7}"], random.NextDouble() < 0.6, 1, 0, 20,
                DateTimeOffset.UnixEpoch.AddMinutes(i)))];
    }

    public static async Task<int> RunAsync(int answers)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"mastery-bench-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        // Kept open so the shared in-memory database lives for the whole run.
        await using var keepAlive = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source=file:bench-{Guid.NewGuid():N}?mode=memory&cache=shared");
        await keepAlive.OpenAsync();
        try
        {
            var file = new DbContextOptionsBuilder<MasteryDbContext>().UseSqlite($"Data Source={Path.Combine(folder, "bench.db")}").Options;
            var memory = new DbContextOptionsBuilder<MasteryDbContext>().UseSqlite(keepAlive.ConnectionString).Options;
            foreach (var options in new[] { file, memory })
            {
                await using var db = new MasteryDbContext(options);
                await db.Database.EnsureCreatedAsync();
            }
            await using (var db = new MasteryDbContext(file))
            {
                await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;");
            }
            var stream = SyntheticAnswers(answers + Warmup);
            var settings = Options.Create(new MasteryOptions());

            // Baseline and update alternate answer by answer, so disk and machine load fall on both alike.
            Func<MasteryDbContext, ItemResponseRecorded, Task> bareRow = async (db, answer) =>
            {
                db.AppliedResponses.Add(new AppliedResponse { StudentId = answer.StudentId, ItemId = "base-" + answer.ItemId, AttemptNumber = 1 });
                await db.SaveChangesAsync();
            };
            Func<MasteryDbContext, ItemResponseRecorded, Task> update = (db, answer) => new MasteryTracker(db, settings, TimeProvider.System).ApplyAsync(answer, default);
            var times = new Dictionary<string, List<double>>();
            for (var i = 0; i < stream.Count; i++)
            {
                foreach (var (name, options, work) in new[] { ("file-base", file, bareRow), ("file-update", file, update), ("memory-base", memory, bareRow), ("memory-update", memory, update) })
                {
                    var watch = Stopwatch.StartNew();
                    await using (var db = new MasteryDbContext(options))
                    {
                        await work(db, stream[i]);
                    }
                    if (i >= Warmup)
                    {
                        (times.TryGetValue(name, out var list) ? list : times[name] = []).Add(watch.Elapsed.TotalMilliseconds);
                    }
                }
            }

            var p = new BktParameters();
            var arithmetic = new List<double>();
            var known = p.PriorKnowledge;
            for (var i = 0; i < 1000; i++)
            {
                var watch = Stopwatch.StartNew();
                for (var k = 0; k < 1000; k++)
                {
                    known = KnowledgeTracing.Update(known, (k & 3) != 0, p);
                }
                arithmetic.Add(watch.Elapsed.TotalMilliseconds / 1000);
            }

            Console.WriteLine($"| measure ({answers:N0} answers, 100 students, 7 skills) | p50 | p99 | p99 / baseline p99 |");
            Console.WriteLine("|---|---|---|---|");
            var fileBase = Percentile(times["file-base"], 0.99);
            var memoryBase = Percentile(times["memory-base"], 0.99);
            Row("SQLite file (WAL): baseline, commit one bare row", times["file-base"], fileBase);
            Row("SQLite file (WAL): online update (MasteryTracker: read, BKT, history, outbox, commit)", times["file-update"], fileBase);
            Row("in-memory SQLite: baseline, commit one bare row", times["memory-base"], memoryBase);
            Row("in-memory SQLite: online update", times["memory-update"], memoryBase);
            Row("BKT arithmetic alone (KnowledgeTracing.Update), vs in-memory baseline", arithmetic, memoryBase);
            GC.KeepAlive(known);
            return 0;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    private const int Warmup = 200;

    private static double Percentile(List<double> values, double q)
    {
        var sorted = values.Order().ToList();
        return sorted[(int)Math.Min(sorted.Count - 1, Math.Ceiling(q * sorted.Count) - 1)];
    }

    private static void Row(string name, List<double> times, double baselineP99) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {Percentile(times, 0.5) * 1000:F2} µs | {Percentile(times, 0.99) * 1000:F2} µs | {Percentile(times, 0.99) / baselineP99:F4} |"));
}
