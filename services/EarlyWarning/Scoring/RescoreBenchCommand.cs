using System.Diagnostics;
using System.Globalization;
using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels.Attendance;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Beacon.EarlyWarning.Scoring;

/// <summary>
/// <c>EarlyWarning bench-rescore [--students 100000] [--days 20] [--chunk 2000] [--postgres "Host=…"] [--seed 42]</c>: the service-path
/// re-score measured against a real database (issue #24 item 4). It fills a fresh database (a SQLite file in the temp folder,
/// or a new database on the given PostgreSQL server, dropped afterwards) with N students of D school days each through the
/// same projections the attendance consumer writes, trains and promotes a chronic-absence model, then times
/// <see cref="BatchRescoring.RescoreAllAsync"/> (the code behind POST models/rescore and the nightly job: reads, features,
/// scores with explanations, bulk writes, outbox) twice: the first scoring of everyone (every score new, every one an event) and
/// the nightly steady state (nothing changed). Beside it, in the same run, the ABC rule's time over the same students: through
/// the same reads (ids, signals, features, rule; no writes), and on the feature vectors alone. Prints one RESULT line.
/// </summary>
public static class RescoreBenchCommand
{
    public static bool IsBench(string[] args) => args.Length > 0 && args[0] == "bench-rescore";

    public static async Task<int> RunAsync(string[] args)
    {
        string? Option(string name) => Array.IndexOf(args, name) is var i && i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        int Number(string name, int fallback) => Option(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        var (students, days, chunk, seed) = (Number("--students", 100_000), Number("--days", 20), Number("--chunk", BatchRescoring.DefaultChunkSize), Number("--seed", 42));
        var postgres = Option("--postgres");
        var folder = Path.Combine(Path.GetTempPath(), $"beacon-rescore-bench-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        var connectionString = postgres is null
            ? $"Data Source={Path.Combine(folder, "earlywarning.db")}"
            : new NpgsqlConnectionStringBuilder(postgres) { Database = $"beacon_bench_{Guid.NewGuid():N}" }.ConnectionString;
        var provider = postgres is null ? "sqlite" : "postgresql";
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}; load average before: {LoadAverage()}");
        Console.WriteLine($"database: {provider}; {students:N0} students x {days} school days; chunks of {chunk}");

        var builder = WebApplication.CreateBuilder([
            $"--ConnectionStrings:Database={connectionString}", "--Logging:LogLevel:Default=Warning", $"--Beacon:DataDirectory={folder}",
            "--EarlyWarning:Scoring:Enabled=false", "--EarlyWarning:Monitoring:Enabled=false",
            // The host never serves a request; a throw-away key satisfies the authentication set-up.
            $"--Auth:SigningKey={Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))}"]);
        builder.AddServiceDefaults();
        builder.AddApplicationServices();
        await using var app = builder.Build();
        // Built, not started: no web server, no consumers, no relay; the database, the registry and the rescore only.
        await app.InitializeDatabaseAsync<EarlyWarningDbContext>();
        try
        {
            var watch = Stopwatch.StartNew();
            await SeedAsync(app.Services, students, days, seed);
            Console.WriteLine($"seed: {students:N0} students, {(long)students * days:N0} attendance rows in {watch.Elapsed.TotalSeconds:F1} s");
            watch.Restart();
            await using (var scope = app.Services.CreateAsyncScope())
            {
                // The rows as a database made before the packs holds them: packed by the same upgrade step a start runs.
                var packed = await AttendancePacking.BackfillAsync(scope.ServiceProvider.GetRequiredService<EarlyWarningDbContext>(), CancellationToken.None);
                Console.WriteLine($"attendance packs: {packed:N0} students packed from their day rows (the schema upgrade's backfill) in {watch.Elapsed.TotalSeconds:F1} s");
            }
            watch.Restart();
            await using (var scope = app.Services.CreateAsyncScope())
            {
                await scope.ServiceProvider.GetRequiredService<ModelTraining>()
                    .TrainAsync(new TrainRequest(AttendanceFeatures.Kind, "synthetic", 20_000, seed, Promote: true), CancellationToken.None);
            }
            Console.WriteLine($"model: trained and promoted in {watch.Elapsed.TotalSeconds:F1} s (not part of any figure below)");

            var first = await RescoreAsync(app.Services, chunk);
            Print("first scoring of everyone (all new, all published)", first);
            var steady = await RescoreAsync(app.Services, chunk);
            Print("nightly steady state (nothing changed, nothing published)", steady);

            var (ruleRead, ruleMemory, ruleFlagged) = await RuleAsync(app.Services, chunk);
            Console.WriteLine($"ABC rule, same students through the same reads (ids, signals, features, rule; no writes): {ruleRead.TotalSeconds:F1} s "
                + $"({ruleFlagged:N0} flagged); on the feature vectors alone: {ruleMemory.TotalMilliseconds:F0} ms");
            Console.WriteLine($"ratio model rescore / rule through the same reads: first {first.Total / ruleRead:F1}x, steady {steady.Total / ruleRead:F1}x; "
                + $"/ rule on vectors alone: first {first.Total / ruleMemory:F0}x");
            Console.WriteLine(FormattableString.Invariant(
                $"RESULT rescore provider={provider} students={students} days={days} first_s={first.Total.TotalSeconds:F2} steady_s={steady.Total.TotalSeconds:F2} ")
                + FormattableString.Invariant($"rule_read_s={ruleRead.TotalSeconds:F2} rule_vectors_ms={ruleMemory.TotalMilliseconds:F0} ratio_first_rule_read={first.Total / ruleRead:F2}"));
            return 0;
        }
        finally
        {
            if (postgres is not null)
            {
                await using var scope = app.Services.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<EarlyWarningDbContext>().Database.EnsureDeletedAsync();
            }
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static void Print(string what, RescoreReport r) =>
        Console.WriteLine($"rescore, {what}: {r.Total.TotalSeconds:F1} s ({r.Students / r.Total.TotalSeconds:N0} students/s; {r.Passes} pass; read+features {r.Read.TotalSeconds:F1} s "
            + $"(overlapping the rest), predict+explain {r.Predict.TotalSeconds:F1} s, write {r.Write.TotalSeconds:F1} s; {r.Flagged:N0} flagged, {r.AlertsRaised:N0} alerts, {r.Changes:N0} changes)"
            + $"\n  write by step: decide {r.Parts.Decide.TotalSeconds:F1} s, scores {r.Parts.Scores.TotalSeconds:F1} s, snapshots {r.Parts.Snapshots.TotalSeconds:F1} s, "
            + $"alerts and outbox {r.Parts.AlertsAndOutbox.TotalSeconds:F1} s, commit {r.Parts.Commit.TotalSeconds:F1} s");

    private static async Task<RescoreReport> RescoreAsync(IServiceProvider services, int chunk)
    {
        await using var scope = services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<BatchRescoring>().RescoreAllAsync(DateTimeOffset.UtcNow, CancellationToken.None, AttendanceFeatures.Kind, chunk);
    }

    /// <summary>The projections the attendance consumer keeps (a state per student, a row per school day), written in bulk.</summary>
    private static async Task SeedAsync(IServiceProvider services, int students, int days, int seed)
    {
        var random = new Random(seed);
        var first = new DateOnly(2026, 9, 7);
        var dates = Enumerable.Range(0, days * 2).Select(first.AddDays).Where(d => d.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday)).Take(days).ToArray();
        const int perChunk = 5000;
        for (var start = 0; start < students; start += perChunk)
        {
            await using var scope = services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<EarlyWarningDbContext>();
            var states = new List<StudentRiskState>();
            var rows = new List<AttendanceDay>();
            for (var i = start; i < Math.Min(students, start + perChunk); i++)
            {
                var id = $"bench-{i:D7}";
                // Most students rarely miss a day; a tail misses many (as a district's absence rates spread).
                var rate = random.NextDouble() < 0.8 ? random.NextDouble() * 0.08 : random.NextDouble() * 0.4;
                var absent = 0;
                foreach (var date in dates)
                {
                    var away = random.NextDouble() < rate;
                    absent += away ? 1 : 0;
                    rows.Add(new AttendanceDay { StudentId = id, Date = date, Status = away ? "absent" : "present" });
                }
                states.Add(new StudentRiskState
                {
                    StudentId = id,
                    SchoolId = $"school-{i % 500:D3}",
                    DaysEnrolled = days,
                    DaysAbsent = absent,
                    ChronicallyAbsent = absent >= days / 10.0,
                    UpdatedAt = DateTimeOffset.UtcNow,
                });
            }
            await using var transaction = await db.Database.BeginTransactionAsync();
            await db.InsertOrUpdateAsync(states, CancellationToken.None);
            await db.InsertOrUpdateAsync(rows, CancellationToken.None);
            await transaction.CommitAsync();
        }
    }

    /// <summary>The ABC attendance rule over the same students: through the rescore's reads, then on the vectors alone.</summary>
    private static async Task<(TimeSpan Read, TimeSpan Memory, int Flagged)> RuleAsync(IServiceProvider services, int chunk)
    {
        await using var scope = services.CreateAsyncScope();
        var signals = scope.ServiceProvider.GetRequiredService<StudentSignalsReader>();
        var rule = AttendanceFeatures.IndicatorBaseline();
        var vectors = new List<float[]>();
        var flagged = 0;
        var watch = Stopwatch.StartNew();
        string? after = null;
        while (await signals.StudentIdsAfterAsync(AttendanceFeatures.Kind, after, chunk, CancellationToken.None) is { Count: > 0 } ids)
        {
            after = ids[^1];
            foreach (var row in await signals.LoadAsync(AttendanceFeatures.Kind, ids, null, CancellationToken.None))
            {
                var features = AttendanceFeatures.Compute(row.Signals.Days);
                flagged += rule.Flag(features) ? 1 : 0;
                vectors.Add(features);
            }
        }
        var read = watch.Elapsed;
        watch.Restart();
        var again = vectors.Count(rule.Flag);
        var memory = watch.Elapsed;
        return again == flagged ? (read, memory, flagged) : throw new InvalidOperationException("The rule flagged differently on the same vectors.");
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "unknown";
}
