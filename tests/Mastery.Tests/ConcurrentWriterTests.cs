using Beacon.Contracts.Events;
using Beacon.Mastery.Domain;
using Beacon.Mastery.Storage;
using Beacon.ServiceDefaults;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Beacon.Mastery.Tests;

/// <summary>
/// Two writers of one student's mastery row at the same moment: the single-answer and the batch consumer, two
/// replicas, a refit while answers arrive. Each writer reads the row, then saves; the steps are interleaved by
/// hand so the race happens every time. The later save must fail on the row's version (the bus then retries the
/// message from fresh state) instead of overwriting the earlier one. Run on a SQLite file and on PostgreSQL
/// (read committed, where nothing else would stop it).
/// </summary>
public class ConcurrentWriterTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = DateTimeOffset.UtcNow.AddDays(-1);
    private readonly MasteryOptions _settings = new() { MinimumResponsesToFit = 50 };
    private string? _connectionString;
    private string? _folder;

    protected virtual bool OnPostgres => false;

    public async Task InitializeAsync()
    {
        if (OnPostgres)
        {
            if (TestEnvironment.Postgres is not { } server)
            {
                return;
            }
            _connectionString = TestPostgres.NewDatabase(server);
        }
        else
        {
            _folder = TestEnvironment.NewTempDirectory("mastery-concurrent");
            _connectionString = $"Data Source={Path.Combine(_folder, "mastery.db")}";
        }
        await using var db = NewContext();
        await db.Database.EnsureCreatedAsync();
        if (!OnPostgres)
        {
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;");
        }
    }

    public async Task DisposeAsync()
    {
        if (_connectionString is null)
        {
            return;
        }
        if (OnPostgres)
        {
            await using var db = NewContext();
            await db.Database.EnsureDeletedAsync();
            NpgsqlConnection.ClearAllPools();
        }
        else
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(_folder!, recursive: true);
        }
    }

    private void SkipUnlessRunning() =>
        Skip.If(_connectionString is null, "BEACON_TEST_POSTGRES is not set: the PostgreSQL run of these tests needs a server (./beacon test starts one).");

    private MasteryDbContext NewContext(params IInterceptor[] interceptors)
    {
        var options = new DbContextOptionsBuilder<MasteryDbContext>();
        options.UseServiceDatabase(_connectionString!).AddInterceptors(interceptors);
        return new MasteryDbContext(options.Options);
    }

    private MasteryTracker Tracker(MasteryDbContext db) => new(db, Options.Create(_settings), TimeProvider.System);

    private static ItemResponseRecorded Answer(string student, int item, bool correct, string skill = "fractions") =>
        new(student, $"q{item}", [skill], correct, 1, 0, 30, Start.AddMinutes(item));

    /// <summary>Applies answers one message at a time, each in its own context, as the single-answer consumer does.</summary>
    private async Task ApplyInTurnAsync(IEnumerable<ItemResponseRecorded> answers)
    {
        foreach (var answer in answers)
        {
            await using var db = NewContext();
            await Tracker(db).ApplyAsync(answer, default);
        }
    }

    private async Task<StudentSkillMastery> MasteryOfAsync(string student, string skill = "fractions")
    {
        await using var db = NewContext();
        return await db.Mastery.AsNoTracking().SingleAsync(m => m.StudentId == student && m.SkillId == skill);
    }

    [SkippableFact]
    public async Task The_later_of_two_writers_of_one_row_fails_and_its_retry_keeps_both_answers()
    {
        SkipUnlessRunning();
        // The same three answers for a reference student, one after another.
        await ApplyInTurnAsync([Answer("reference", 1, false), Answer("reference", 2, true), Answer("reference", 3, true)]);
        await ApplyInTurnAsync([Answer("raced", 1, false)]);

        // A batch and a single answer of the same student, both read before either saves.
        await using var batchWriter = NewContext();
        await Tracker(batchWriter).ApplyBatchAsync([Answer("raced", 2, true)], default);
        await using var singleWriter = NewContext();
        await Tracker(singleWriter).ApplyBatchAsync([Answer("raced", 3, true)], default);
        await batchWriter.SaveChangesAsync();
        await Assert.ThrowsAsync<DbUpdateConcurrencyException>(() => singleWriter.SaveChangesAsync());

        // The bus's retry: the same answer again, from fresh state.
        await ApplyInTurnAsync([Answer("raced", 3, true)]);

        var raced = await MasteryOfAsync("raced");
        var reference = await MasteryOfAsync("reference");
        Assert.Equal(3, raced.Attempts);
        Assert.Equal(reference.ProbabilityMastered, raced.ProbabilityMastered);
        Assert.Equal(reference.PeakProbability, raced.PeakProbability);
        Assert.Equal(reference.CorrectAnswers, raced.CorrectAnswers);
        await using var db = NewContext();
        Assert.Equal(3, await db.Steps.CountAsync(s => s.StudentId == "raced"));
        Assert.Equal(3, await db.AppliedResponses.CountAsync(r => r.StudentId == "raced"));
    }

    [SkippableFact]
    public async Task A_refit_replays_again_what_an_answer_changed_during_its_replay()
    {
        SkipUnlessRunning();
        // 20 students × 5 answers: enough to fit the skill (50).
        await using (var seed = NewContext())
        {
            var answers = Enumerable.Range(0, 20).SelectMany(s => Enumerable.Range(1, 5).Select(i => Answer($"s{s:D2}", i, (s + i) % 3 != 0))).ToList();
            await Tracker(seed).ApplyBatchAsync(answers, default);
            await seed.SaveChangesAsync();
        }

        // Just before the refit saves its replay, an answer of s07 is applied and committed by another writer.
        var interference = new AnswerBeforeReplaySave(async () =>
        {
            await using var other = NewContext();
            await Tracker(other).ApplyAsync(Answer("s07", 6, false), default);
        });
        await using (var refitting = NewContext(interference))
        {
            var outcomes = await new SkillRefitter(refitting, Options.Create(_settings), TimeProvider.System).RefitAsync(default);
            Assert.True(Assert.Single(outcomes).Fitted);
        }
        Assert.True(interference.Applied);
        Assert.True(interference.ReplaySaves >= 2, $"the replay was saved {interference.ReplaySaves} time(s); the first save should have failed on the changed row");

        // s07's row holds all six answers, replayed with the fitted parameters; so does every other student's.
        await using var db = NewContext();
        var skill = await db.Skills.AsNoTracking().SingleAsync(s => s.SkillId == "fractions");
        Assert.True(skill.FittedFromResponses >= 100);
        var steps = await db.Steps.AsNoTracking().ToListAsync();
        foreach (var row in await db.Mastery.AsNoTracking().ToListAsync())
        {
            var expected = new StudentSkillMastery { StudentId = row.StudentId, SkillId = row.SkillId };
            SkillParameters.Replay(expected, steps.Where(s => s.StudentId == row.StudentId).OrderBy(s => s.AnsweredAt).ThenBy(s => s.Id),
                SkillParameters.Of(skill), _settings);
            Assert.Equal((expected.Attempts, expected.ProbabilityMastered), (row.Attempts, row.ProbabilityMastered));
        }
        Assert.Equal(6, (await MasteryOfAsync("s07")).Attempts);
    }

    /// <summary>Runs an action once, before the first save that changes mastery rows (the refit's replay), and counts those saves.</summary>
    private sealed class AnswerBeforeReplaySave(Func<Task> answer) : SaveChangesInterceptor
    {
        public bool Applied { get; private set; }

        public int ReplaySaves { get; private set; }

        public override async ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result,
            CancellationToken cancellationToken = default)
        {
            if (eventData.Context!.ChangeTracker.Entries<StudentSkillMastery>().Any(e => e.State == EntityState.Modified))
            {
                ReplaySaves++;
                if (!Applied)
                {
                    Applied = true;
                    await answer();
                }
            }
            return result;
        }
    }
}

/// <summary>The same races on PostgreSQL (its own database, dropped afterwards); skipped unless BEACON_TEST_POSTGRES is set.</summary>
public sealed class PostgresConcurrentWriterTests : ConcurrentWriterTests
{
    protected override bool OnPostgres => true;
}
