using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Domain;
using Beacon.EarlyWarning.Storage;
using Beacon.Governance;
using Beacon.Messaging;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Calendars;
using Beacon.RiskModels.Dropout;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.EarlyWarning.Monitoring;

/// <summary>A student's exit as Ingestion published it (the latest one wins).</summary>
public sealed class StudentExitRow
{
    public required string StudentId { get; set; }
    public required string SchoolId { get; set; }
    public required string ExitCode { get; set; }
    public required string Reason { get; set; }
    public DateOnly ExitedOn { get; set; }
    public DateTimeOffset OccurredAt { get; set; }
}

/// <summary>
/// A student's outcome in one school year, derived from the data at the year's end: the labels training sets are built
/// from (one per student, kind and year, written once). The latest year's also go to <see cref="OutcomeLabel"/> for the
/// monitoring report, unless ops posted one by hand.
/// </summary>
public sealed class YearOutcomeRow
{
    public required string StudentId { get; set; }
    public required string Kind { get; set; }
    public required string SchoolYear { get; set; }
    public required string Outcome { get; set; }
    public bool AtRisk { get; set; }
    public DateOnly KnownOn { get; set; }
    public DateTimeOffset RecordedAt { get; set; }
}

/// <summary>That a school year's outcomes were derived (so the year-end job derives each year once), with the counts.</summary>
public sealed class OutcomeDerivation
{
    public required string SchoolYear { get; set; }
    public DateTimeOffset DerivedAt { get; set; }
    public int Labels { get; set; }
}

public sealed record DeriveOutcomesRequest(string? SchoolYear);

public sealed record DerivedYear(string SchoolYear, DateOnly FirstDay, DateOnly LastDay, int ChronicAbsence, int Dropout, int Added, int ManualKept);

public sealed class ExitUpserts(EarlyWarningDbContext db, IErasedStudents erased) : StudentRowUpserts<StudentExited, StudentExitRow>(db, erased)
{
    protected override string StudentIdOf(StudentExited message) => message.StudentId;

    protected override StudentExitRow NewRow(StudentExited m) =>
        new() { StudentId = m.StudentId, SchoolId = m.SchoolId, ExitCode = m.ExitCode, Reason = m.Reason, OccurredAt = m.OccurredAt };

    protected override void Apply(StudentExitRow row, StudentExited m)
    {
        if (row.OccurredAt <= m.OccurredAt)
        {
            (row.SchoolId, row.ExitCode, row.Reason, row.ExitedOn, row.OccurredAt) = (m.SchoolId, m.ExitCode, m.Reason, DateOnly.FromDateTime(m.OccurredAt.UtcDateTime), m.OccurredAt);
        }
    }
}

public sealed class StudentExitedConsumer(EarlyWarningDbContext db, ExitUpserts upserts) : GatheredRecordsConsumer<StudentExited>(db, upserts);

/// <summary>
/// Outcomes from what Early warning holds, not typed in. For a finished school year (the district's calendar): chronic
/// absence is the year's absence rate over its school days (the indicator's line and minimum days), for every student with
/// attendance in it; dropout is the exit the roster recorded in the year or the summer after it (dropped-out → dropped-out,
/// other → withdrew: the risk happened; graduated → graduated: it did not; transferred: no label, the outcome is not
/// observed here), and a student with attendance and no exit finished the year. Each (student, kind, year) is written
/// once: deriving again, or a redelivered exit, adds nothing. A label posted by hand is never overwritten.
/// </summary>
public sealed class OutcomeDeriver(EarlyWarningDbContext db, IOptions<ChronicAbsenceOptions> options, TimeProvider clock)
{
    public const string DerivedSource = "derived";

    /// <summary>Every finished year not derived yet (the year-end job), or the named year (on demand, again if asked).</summary>
    public async Task<IReadOnlyList<DerivedYear>> DeriveAsync(string? schoolYear, CancellationToken ct)
    {
        var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        var calendars = await db.CalendarsAsync(ct);
        var years = calendars.YearsOf("").Where(y => y.LastDay < today).ToList();
        if (schoolYear is not null)
        {
            var named = years.FirstOrDefault(y => y.Label == schoolYear)
                ?? throw new MonitoringValidationException(new Dictionary<string, string[]>
                {
                    ["schoolYear"] = [$"'{schoolYear}' is not a finished school year of the district's calendar; finished: {string.Join(", ", years.Select(y => $"'{y.Label}'"))}."],
                });
            years = [named];
        }
        else
        {
            var done = (await db.OutcomeDerivations.AsNoTracking().Select(d => d.SchoolYear).ToListAsync(ct)).ToHashSet();
            years = [.. years.Where(y => !done.Contains(y.Label))];
        }
        var result = new List<DerivedYear>();
        foreach (var year in years)
        {
            var next = calendars.YearsOf("").FirstOrDefault(y => y.FirstDay > year.LastDay);
            result.Add(await DeriveYearAsync(calendars, year, next?.FirstDay ?? year.LastDay.AddDays(90), ct));
        }
        return result;
    }

    private async Task<DerivedYear> DeriveYearAsync(SchoolCalendars calendars, SchoolYearCalendar districtYear, DateOnly exitsBefore, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var (first, last) = (districtYear.FirstDay, districtYear.LastDay);
        var schoolOf = await db.RiskStates.AsNoTracking().ToDictionaryAsync(s => s.StudentId, s => s.SchoolId, ct);
        var days = (await db.AttendanceDays.AsNoTracking().Where(d => d.Date >= first && d.Date <= last).ToListAsync(ct))
            .GroupBy(d => d.StudentId).ToDictionary(g => g.Key, g => g.ToDictionary(d => d.Date, d => d.Status));
        var exits = await db.StudentExits.AsNoTracking().Where(e => e.ExitedOn >= first && e.ExitedOn < exitsBefore).ToDictionaryAsync(e => e.StudentId, ct);
        var sendsPresent = (await db.AttendanceThrough.AsNoTracking().Where(t => t.SendsPresentDays).Select(t => t.SchoolId).ToListAsync(ct)).ToHashSet();
        var labels = new List<YearOutcomeRow>();
        foreach (var (student, studentDays) in days)
        {
            var school = exits.GetValueOrDefault(student)?.SchoolId ?? schoolOf.GetValueOrDefault(student) ?? "";
            var year = calendars.YearsOf(school).FirstOrDefault(y => y.Label == districtYear.Label) ?? districtYear;
            // A student who left during the year is counted to the day they left.
            var through = exits.TryGetValue(student, out var exit) && exit.ExitedOn < year.LastDay ? exit.ExitedOn : year.LastDay;
            // The year has ended: the feed has reported through its last day (or the student's exit).
            var summary = ChronicAbsenceIndicator.Summarize(
                EnrolledDays.Of(studentDays.Select(d => new SchoolDay(d.Key, d.Value)), year, new FeedReport(through, sendsPresent.Contains(school))), options.Value);
            if (summary.DaysEnrolled >= options.Value.MinimumDays)
            {
                var chronic = summary.AbsenceRate >= options.Value.Threshold;
                labels.Add(Label(student, AttendanceFeatures.Kind, districtYear.Label, chronic ? "chronically-absent" : "term-under-10pct-absence", chronic, through, now));
            }
            if (!exits.ContainsKey(student))
            {
                labels.Add(Label(student, K12DropoutFeatures.Kind, districtYear.Label, "finished-year", false, year.LastDay, now));
            }
        }
        foreach (var exit in exits.Values)
        {
            var outcome = exit.ExitCode switch
            {
                ExitCodes.DroppedOut => "dropped-out",
                ExitCodes.Graduated => "graduated",
                ExitCodes.Transferred => null,
                _ => "withdrew",
            };
            if (outcome is not null)
            {
                labels.Add(Label(exit.StudentId, K12DropoutFeatures.Kind, districtYear.Label, outcome, Labels.Outcomes[K12DropoutFeatures.Kind][outcome], exit.ExitedOn, now));
            }
        }

        // Once: what is already there for this year stays as it was.
        var existing = (await db.YearOutcomes.AsNoTracking().Where(o => o.SchoolYear == districtYear.Label).Select(o => new { o.StudentId, o.Kind }).ToListAsync(ct))
            .Select(o => (o.StudentId, o.Kind)).ToHashSet();
        var added = labels.Where(l => !existing.Contains((l.StudentId, l.Kind))).ToList();
        db.YearOutcomes.AddRange(added);
        // The monitoring report reads the current labels: the latest year's derived outcome takes the place of an older
        // derived one, never of one posted by hand (a correction).
        var manualKept = 0;
        foreach (var chunk in added.Chunk(500))
        {
            var ids = chunk.Select(l => l.StudentId).Distinct().ToList();
            var current = (await db.Outcomes.Where(o => ids.Contains(o.StudentId)).ToListAsync(ct)).ToDictionary(o => (o.StudentId, o.Kind));
            foreach (var label in chunk)
            {
                if (current.TryGetValue((label.StudentId, label.Kind), out var row))
                {
                    if (row.Source != DerivedSource || row.KnownOn > label.KnownOn)
                    {
                        manualKept += row.Source != DerivedSource ? 1 : 0;
                        continue;
                    }
                }
                else
                {
                    row = current[(label.StudentId, label.Kind)] = db.Outcomes.Add(new OutcomeLabel { StudentId = label.StudentId, Kind = label.Kind, Outcome = label.Outcome }).Entity;
                }
                (row.Outcome, row.AtRisk, row.KnownOn, row.RecordedAt, row.Source) = (label.Outcome, label.AtRisk, label.KnownOn, now, DerivedSource);
            }
        }
        var marker = await db.OutcomeDerivations.FindAsync([districtYear.Label], ct);
        marker ??= db.OutcomeDerivations.Add(new OutcomeDerivation { SchoolYear = districtYear.Label }).Entity;
        (marker.DerivedAt, marker.Labels) = (now, marker.Labels + added.Count);
        await db.SaveChangesAsync(ct);
        return new DerivedYear(districtYear.Label, first, last, labels.Count(l => l.Kind == AttendanceFeatures.Kind), labels.Count(l => l.Kind == K12DropoutFeatures.Kind),
            added.Count, manualKept);
    }

    private static YearOutcomeRow Label(string student, string kind, string year, string outcome, bool atRisk, DateOnly knownOn, DateTimeOffset now) =>
        new() { StudentId = student, Kind = kind, SchoolYear = year, Outcome = outcome, AtRisk = atRisk, KnownOn = knownOn, RecordedAt = now };
}

/// <summary>Derives each finished school year's outcomes once, soon after its last day (checked every PollInterval).</summary>
public sealed class YearEndOutcomesService(IServiceScopeFactory scopes, IOptions<MonitoringOptions> options, ILogger<YearEndOutcomesService> log) : BackgroundService
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromHours(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }
        using var timer = new PeriodicTimer(PollInterval);
        do
        {
            try
            {
                using var scope = scopes.CreateScope();
                foreach (var year in await scope.ServiceProvider.GetRequiredService<OutcomeDeriver>().DeriveAsync(null, stoppingToken))
                {
                    log.LogInformation("Outcomes of school year {Year} derived: {Added} new labels", year.SchoolYear, year.Added);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                log.LogWarning(ex, "Deriving the year-end outcomes failed; next try in {Interval}", PollInterval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
