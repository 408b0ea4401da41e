using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using Beacon.Contracts.Events;
using Beacon.Mastery.Domain;
using Beacon.Mastery.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Options;

namespace Beacon.Mastery.Evaluation;

/// <summary>
/// <c>beacon-mastery-eval bench-update [answers]</c>: latency of one online update, in process, on a SQLite file —
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

/// <summary>
/// <c>beacon-mastery-eval bench-batch [answers] [batch]</c>: the same answers applied one per transaction (the single-answer
/// consumer: a fresh DbContext and a commit per answer) and in batches (the batch consumer: one DbContext, one read
/// and one commit per batch), each on its own SQLite file (WAL). The two alternate batch by batch, so machine load
/// falls on both alike. Prints answers/s of both, their ratio, database commands per answer, and whether the two
/// databases end with the same mastery rows and steps.
/// </summary>
public static class BatchBenchmark
{
    public static async Task<int> RunAsync(int answers, int batchSize)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"mastery-bench-batch-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            var counters = new Dictionary<string, CommandCounter> { ["single"] = new(), ["batch"] = new() };
            var options = counters.ToDictionary(c => c.Key, c => new DbContextOptionsBuilder<MasteryDbContext>()
                .UseSqlite($"Data Source={Path.Combine(folder, c.Key + ".db")}").AddInterceptors(c.Value).Options);
            foreach (var o in options.Values)
            {
                await using var db = new MasteryDbContext(o);
                await db.Database.EnsureCreatedAsync();
                await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;");
            }
            var stream = UpdateBenchmark.SyntheticAnswers(answers);
            var settings = Options.Create(new MasteryOptions());
            var elapsed = new Dictionary<string, TimeSpan> { ["single"] = TimeSpan.Zero, ["batch"] = TimeSpan.Zero };
            foreach (var c in counters.Values)
            {
                c.Commands = 0;
            }

            foreach (var chunk in stream.Chunk(batchSize))
            {
                var watch = Stopwatch.StartNew();
                foreach (var answer in chunk)
                {
                    await using var db = new MasteryDbContext(options["single"]);
                    await new MasteryTracker(db, settings, TimeProvider.System).ApplyAsync(answer, default);
                }
                elapsed["single"] += watch.Elapsed;

                watch.Restart();
                await using (var db = new MasteryDbContext(options["batch"]))
                {
                    await new MasteryTracker(db, settings, TimeProvider.System).ApplyBatchAsync(chunk, default);
                    await db.SaveChangesAsync();
                }
                elapsed["batch"] += watch.Elapsed;
            }

            var same = await SameStateAsync(options["single"], options["batch"]);
            string Rate(string path) => (answers / elapsed[path].TotalSeconds).ToString("N0", CultureInfo.InvariantCulture);
            string PerAnswer(string path) => ((double)counters[path].Commands / answers).ToString("F2", CultureInfo.InvariantCulture);
            Console.WriteLine($"| measure ({answers:N0} answers, 100 students, 7 skills, SQLite file, WAL) | seconds | answers/s | DB commands per answer |");
            Console.WriteLine("|---|---|---|---|");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| baseline: one answer per transaction (single-answer consumer) | {elapsed["single"].TotalSeconds:F2} | {Rate("single")} | {PerAnswer("single")} |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| batches of {batchSize} in one transaction (batch consumer) | {elapsed["batch"].TotalSeconds:F2} | {Rate("batch")} | {PerAnswer("batch")} |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio batch / single (answers/s): {elapsed["single"] / elapsed["batch"]:F1}"));
            Console.WriteLine($"same mastery rows and steps in both databases: {(same ? "yes" : "NO")}");
            return same ? 0 : 1;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<bool> SameStateAsync(DbContextOptions<MasteryDbContext> a, DbContextOptions<MasteryDbContext> b)
    {
        static async Task<(List<string>, List<string>)> ReadAsync(DbContextOptions<MasteryDbContext> options)
        {
            await using var db = new MasteryDbContext(options);
            var mastery = await db.Mastery.AsNoTracking().OrderBy(m => m.StudentId).ThenBy(m => m.SkillId)
                .Select(m => $"{m.StudentId} {m.SkillId} {m.ProbabilityMastered:R} {m.PeakProbability:R} {m.Attempts} {m.CorrectAnswers} {m.Struggling}").ToListAsync();
            var steps = await db.Steps.AsNoTracking().OrderBy(s => s.StudentId).ThenBy(s => s.SkillId).ThenBy(s => s.ItemId)
                .Select(s => $"{s.StudentId} {s.SkillId} {s.ItemId} {s.AttemptNumber} {s.ProbabilityAfter:R}").ToListAsync();
            return (mastery, steps);
        }
        var (left, right) = (await ReadAsync(a), await ReadAsync(b));
        return left.Item1.SequenceEqual(right.Item1) && left.Item2.SequenceEqual(right.Item2);
    }

    /// <summary>Counts database commands (round trips): reads and the batched writes of each SaveChanges.</summary>
    private sealed class CommandCounter : DbCommandInterceptor
    {
        public long Commands;

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            Commands++;
            return base.ReaderExecutingAsync(command, eventData, result, cancellationToken);
        }

        public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<int> result, CancellationToken cancellationToken = default)
        {
            Commands++;
            return base.NonQueryExecutingAsync(command, eventData, result, cancellationToken);
        }

        public override ValueTask<InterceptionResult<object>> ScalarExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<object> result, CancellationToken cancellationToken = default)
        {
            Commands++;
            return base.ScalarExecutingAsync(command, eventData, result, cancellationToken);
        }
    }
}
