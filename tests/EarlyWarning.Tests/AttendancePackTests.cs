using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Consumers;
using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Dropout;
using Beacon.RiskModels.History;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.EarlyWarning.Tests;

/// <summary>
/// The attendance packs (one row per student that the re-score reads instead of a row per school day): the encoding round-trips
/// any days, the attendance consumer keeps them equal to the day rows through corrections, out-of-order and redelivered records
/// over several school years, the features read from them are exactly those read from the day rows, and the upgrade's backfill
/// packs an existing database's rows into the same bytes.
/// </summary>
public sealed class AttendancePackTests : IAsyncLifetime
{
    // Two school years no other test uses, so the calendar rows laid here are the only ones the dates fall in.
    private static readonly (string Label, DateOnly First, DateOnly Last)[] Years =
        [("ap-2041", new DateOnly(2041, 9, 2), new DateOnly(2042, 6, 20)), ("ap-2042", new DateOnly(2042, 9, 1), new DateOnly(2043, 6, 19))];

    private readonly ServiceFactory<Program> _service = new()
    {
        Settings = { ["EarlyWarning:Scoring:Enabled"] = "false", ["EarlyWarning:Monitoring:Enabled"] = "false" },
    };
    private readonly string _p = $"ap{Guid.NewGuid():N}"[..9];

    public Task InitializeAsync() => _service.WaitUntilReadyAsync();

    public async Task DisposeAsync() => await _service.DisposeAsync();

    [Fact]
    public void The_encoding_gives_back_every_day_in_date_order_with_any_status()
    {
        var days = new Dictionary<DateOnly, string>
        {
            [new DateOnly(2043, 1, 5)] = "absent",
            [new DateOnly(1999, 12, 31)] = "present",
            [new DateOnly(2043, 1, 4)] = "tardy",
            [new DateOnly(2043, 1, 6)] = "excusé ✓",
            [new DateOnly(2021, 6, 1)] = "",
        };
        var pack = AttendancePacking.Pack("s", days)!;
        Assert.Equal(days.OrderBy(d => d.Key).Select(d => new SchoolDay(d.Key, d.Value)), AttendancePacking.Decode(pack.Days));
        Assert.Equal(new DateOnly(1999, 12, 31), pack.FirstDate);
        Assert.Equal(5, pack.DayCount);
        Assert.Null(AttendancePacking.Pack("s", new Dictionary<DateOnly, string>()));
        // A school year of days in a few hundred bytes: about two a day.
        var year = Enumerable.Range(0, 180).ToDictionary(i => new DateOnly(2041, 9, 2).AddDays(i * 7 / 5), i => i % 9 == 0 ? "absent" : "present");
        Assert.InRange(AttendancePacking.Pack("s", year)!.Days.Length, 360, 400);
        Assert.Throws<InvalidDataException>(() => AttendancePacking.Decode([9, 0, 0]));
    }

    [Fact]
    public async Task The_consumer_keeps_each_pack_equal_to_the_day_rows_and_the_features_from_it_equal_those_from_the_rows()
    {
        await _service.WithDbAsync<EarlyWarningDbContext, int>(db =>
        {
            db.CalendarYears.AddRange(Years.Select(y => new CalendarYearRow { SchoolYear = y.Label, FirstDay = y.First, LastDay = y.Last, OccurredAt = DateTimeOffset.UtcNow }));
            return db.SaveChangesAsync();
        });
        var students = Enumerable.Range(0, 6).Select(i => $"{_p}-s{i}").ToArray();
        var random = new Random(11);
        var at = new DateTimeOffset(2043, 1, 1, 0, 0, 0, TimeSpan.Zero);
        AttendanceRecorded Record(string student, DateOnly date, string status) =>
            new(student, $"{_p}-school", date, status, false, at = at.AddSeconds(1));
        // Two years of school days a student, absent at a rate of their own; the second year's only up to January.
        var records = students.SelectMany((s, i) => Years.SelectMany(y => Enumerable.Range(0, 200).Select(y.First.AddDays)
                .Where(d => d.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday) && d <= y.Last && d < new DateOnly(2043, 1, 20)))
            .Select(d => Record(s, d, random.NextDouble() < 0.03 * (i + 1) ? "absent" : "present")))
            .ToList();
        // Out of order: the batches arrive shuffled (each student's later days before earlier ones).
        var shuffled = records.OrderBy(_ => random.Next()).ToList();
        foreach (var batch in shuffled.Chunk(300))
        {
            await ApplyAsync(batch);
        }
        // Redelivered: a batch again changes nothing. Corrections: some days change status, one twice within a batch, and a new status.
        await ApplyAsync(shuffled.Take(300).ToArray());
        var corrections = records.Where((_, n) => n % 37 == 0).Select(r => Record(r.StudentId, r.Date, r.Status == "absent" ? "present" : "absent")).ToList();
        corrections.Add(Record(students[0], records[0].Date, "tardy"));
        corrections.Add(Record(students[0], records[0].Date, "excused"));
        await ApplyAsync([.. corrections]);

        var packs = await PacksAsync();
        Assert.Equal(students, packs.Keys.Order(StringComparer.Ordinal));
        var rows = await _service.WithDbAsync<EarlyWarningDbContext, List<AttendanceDay>>(db => db.AttendanceDays.AsNoTracking().Where(d => students.Contains(d.StudentId)).ToListAsync());
        Assert.Equal(records.Count, rows.Count);
        foreach (var student in students)
        {
            var expected = rows.Where(d => d.StudentId == student).OrderBy(d => d.Date).Select(d => new SchoolDay(d.Date, d.Status)).ToList();
            Assert.Equal(expected, AttendancePacking.Decode(packs[student].Days));
            Assert.Equal(expected[0].Date, packs[student].FirstDate);
        }
        Assert.Equal("excused", AttendancePacking.Decode(packs[students[0]].Days).Single(d => d.Date == records[0].Date).Status);

        // The reader from the packs, then (packs deleted) from the day rows as before the packs: the same days and inputs, both kinds.
        var fromPacks = await SignalsAsync(students);
        await _service.WithDbAsync<EarlyWarningDbContext, int>(db => db.AttendancePacks.ExecuteDeleteAsync());
        var fromRows = await SignalsAsync(students);
        var now = DateTimeOffset.UtcNow;
        var withPriorYear = PriorYear.Extend(AttendanceFeatures.Set);
        Assert.Equal(students.Length, fromPacks.Count);
        foreach (var (student, signals) in fromPacks)
        {
            Assert.Equal(fromRows[student].Days, signals.Days);
            Assert.NotNull(signals.PriorYear);   // the second year's scoring reads the first year too
            Assert.Equal(fromRows[student].PriorYear, signals.PriorYear);
            Assert.Equal(ScoredKinds.Features(AttendanceFeatures.Kind, fromRows[student], null, now, withPriorYear),
                ScoredKinds.Features(AttendanceFeatures.Kind, signals, null, now, withPriorYear));
            Assert.Equal(ScoredKinds.Features(K12DropoutFeatures.Kind, fromRows[student], null, now),
                ScoredKinds.Features(K12DropoutFeatures.Kind, signals, null, now));
        }

        // An existing database (day rows, no packs): the upgrade step packs them into the bytes the consumer wrote.
        var packed = await _service.WithDbAsync<EarlyWarningDbContext, int>(db => AttendancePacking.BackfillAsync(db, default, page: 4));
        Assert.True(packed >= students.Length);
        var backfilled = await PacksAsync();
        Assert.All(students, s => Assert.Equal(packs[s].Days, backfilled[s].Days));
        Assert.Equal(0, await _service.WithDbAsync<EarlyWarningDbContext, int>(db => AttendancePacking.BackfillAsync(db, default)));   // once only

        // Retention drops the same days from the packs as from the rows.
        var cutoff = new DateOnly(2042, 9, 15);
        await _service.WithDbAsync<EarlyWarningDbContext, int>(db => db.DeleteAttendanceOlderThanAsync(new DateTimeOffset(cutoff.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero), default));
        var trimmed = await PacksAsync();
        var left = await _service.WithDbAsync<EarlyWarningDbContext, List<AttendanceDay>>(db => db.AttendanceDays.AsNoTracking().Where(d => students.Contains(d.StudentId)).ToListAsync());
        Assert.All(left, d => Assert.True(d.Date >= cutoff));
        Assert.All(students, s => Assert.Equal(left.Where(d => d.StudentId == s).OrderBy(d => d.Date).Select(d => new SchoolDay(d.Date, d.Status)),
            AttendancePacking.Decode(trimmed[s].Days)));
    }

    /// <summary>One batch through the attendance consumer's handler, saved, as the batch consumer applies it.</summary>
    private async Task ApplyAsync(AttendanceRecorded[] batch)
    {
        await using var scope = _service.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<EarlyWarningDbContext>();
        await scope.ServiceProvider.GetRequiredService<AttendanceUpdates>().ApplyAsync(batch, default);
        await db.SaveChangesAsync();
    }

    private Task<Dictionary<string, AttendancePack>> PacksAsync() => _service.WithDbAsync<EarlyWarningDbContext, Dictionary<string, AttendancePack>>(db =>
        db.AttendancePacks.AsNoTracking().Where(p => p.StudentId.StartsWith(_p)).ToDictionaryAsync(p => p.StudentId));

    private async Task<Dictionary<string, StudentSignals>> SignalsAsync(string[] students)
    {
        await using var scope = _service.Services.CreateAsyncScope();
        var rows = await scope.ServiceProvider.GetRequiredService<StudentSignalsReader>().LoadAsync(K12DropoutFeatures.Kind, students, null, default);
        return rows.ToDictionary(r => r.StudentId, r => r.Signals);
    }
}
