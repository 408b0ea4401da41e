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
/// <c>Mastery bench-batch [answers] [batch]</c>: the same answers applied one per transaction (the single-answer
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
