using System.Linq.Expressions;
using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Calendars;
using Beacon.RiskModels.Dropout;
using Beacon.RiskModels.History;
using Microsoft.EntityFrameworkCore;

namespace Beacon.EarlyWarning.Scoring;

/// <summary>A student's signals from every projection, and the school an alert about them goes to.</summary>
public sealed record StudentSignalsRow(string StudentId, string SchoolId, StudentSignals Signals);

/// <summary>
/// Reads what a model needs from Early warning's projections, a set of students at a time (one query per projection
/// the model reads: attendance only for chronic absence, every projection for dropout). Scoring happens in the unit of work of the signal that changed it, before the save, so
/// rows added or changed in this unit of work (in the change tracker, not yet in the database) are laid over
/// the stored ones: the score sees the signal that caused it.
/// </summary>
public sealed class StudentSignalsReader(EarlyWarningDbContext db)
{
    // Only the columns a score reads. A re-score reads every row of each of its students' projections, a few thousand
    // students a second under a mixed load, and reading a row's strings and times costs more than stepping to it: the
    // statement's verb and object, the versions' OccurredAt and the like were most of what the read spent (bench/RESULTS.md,
    // the twenty-first session).
    private sealed record MarkRead(string StudentId, string CourseId, string Term, string SchoolId, double MarkPercent, DateOnly Date);
    private sealed record IncidentRead(string IncidentId, string StudentId, string SchoolId, DateOnly Date, string Category, string Severity);
    private sealed record MasteryRead(string StudentId, string SkillId, double ProbabilityMastered, int Attempts);
    private sealed record LmsRead(string StatementId, string StudentId, DateTimeOffset Timestamp, double DurationSeconds, bool Voided);

    /// <summary>A projection's columns as a query (translated to SQL) and as a function (for rows still in the change tracker).</summary>
    private sealed class Columns<T, TRead>(Expression<Func<T, TRead>> query)
    {
        public Expression<Func<T, TRead>> Query { get; } = query;
        public Func<T, TRead> Read { get; } = query.Compile();
    }

    private static readonly Columns<CourseMarkRow, MarkRead> MarkColumns = new(r => new MarkRead(r.StudentId, r.CourseId, r.Term, r.SchoolId, r.MarkPercent, r.Date));
    private static readonly Columns<BehaviorIncidentRow, IncidentRead> IncidentColumns = new(r => new IncidentRead(r.IncidentId, r.StudentId, r.SchoolId, r.Date, r.Category, r.Severity));
    private static readonly Columns<SkillMasteryRow, MasteryRead> MasteryColumns = new(r => new MasteryRead(r.StudentId, r.SkillId, r.ProbabilityMastered, r.Attempts));
    private static readonly Columns<LmsActivityRow, LmsRead> LmsColumns = new(r => new LmsRead(r.StatementId, r.StudentId, r.Timestamp, r.DurationSeconds, r.Voided));

    /// <param name="kind">What is read: a chronic-absence model reads attendance only; dropout every projection.</param>
    /// <param name="days">The caller's current view of the students' school days, when it holds one (the attendance batch does).</param>
    /// <param name="asOf">A date to read the school year and school days as of (drift, the features export); else as of now.</param>
    public async Task<IReadOnlyList<StudentSignalsRow>> LoadAsync(string kind, IReadOnlyCollection<string> studentIds,
        IReadOnlyDictionary<string, Dictionary<DateOnly, string>>? days, CancellationToken ct, DateOnly? asOf = null)
    {
        // EF.Parameter: the ids as one array parameter (json_each on SQLite, = ANY on PostgreSQL). EF 10's default, a parameter per
        // id, costs Microsoft.Data.Sqlite a linear search per parameter it binds: quadratic in a re-score's chunk of 2,000.
        var ids = studentIds.Distinct().ToArray();
        // For the filters in memory (the overlays may hold other students): a set, not a scan of the ids per row.
        var wanted = ids.ToHashSet(StringComparer.Ordinal);
        // Once for the whole read: the overlays below look at the change tracker without detecting again.
        db.ChangeTracker.DetectChanges();
        var everySignal = ScoredKinds.ReadsEverySignal(kind);
        async Task<ILookup<string, TRead>> ReadAsync<T, TRead, TKey>(IQueryable<T> rows, Columns<T, TRead> columns, Func<TRead, TKey> key, Func<TRead, string> student)
            where T : class where TKey : notnull =>
            (everySignal ? Overlay(await rows.AsNoTracking().Select(columns.Query).ToListAsync(ct), columns.Read, key) : []).Where(r => wanted.Contains(student(r))).ToLookup(student);
        var marks = await ReadAsync(db.CourseMarks.Where(r => EF.Parameter(ids).Contains(r.StudentId)), MarkColumns, r => (r.StudentId, r.CourseId, r.Term), r => r.StudentId);
        var incidents = await ReadAsync(db.BehaviorIncidents.Where(r => EF.Parameter(ids).Contains(r.StudentId)), IncidentColumns, r => r.IncidentId, r => r.StudentId);
        var mastery = await ReadAsync(db.SkillMastery.Where(r => EF.Parameter(ids).Contains(r.StudentId)), MasteryColumns, r => (r.StudentId, r.SkillId), r => r.StudentId);
        var lms = await ReadAsync(db.LmsActivity.Where(r => EF.Parameter(ids).Contains(r.StudentId)), LmsColumns, r => r.StatementId, r => r.StudentId);
        var states = Overlay(await db.RiskStates.AsNoTracking().Where(r => EF.Parameter(ids).Contains(r.StudentId)).ToListAsync(ct), r => r.StudentId)
            .ToDictionary(r => r.StudentId, r => r.SchoolId);
        var storedDays = days is null ? await StoredDaysAsync(ids, wanted, ct) : [];

        var calendars = await db.CalendarsAsync(ct);
        // How far each school's feed has reported, with this unit of work's batch laid over it (its records count).
        var schools = states.Values.Distinct().ToList();
        Dictionary<string, FeedReport> feeds = calendars.IsEmpty ? [] : Overlay(await db.AttendanceThrough.AsNoTracking().Where(t => schools.Contains(t.SchoolId)).ToListAsync(ct), t => t.SchoolId)
            .ToDictionary(t => t.SchoolId, t => t.Report);
        var result = new List<StudentSignalsRow>(ids.Length);
        foreach (var id in ids)
        {
            // The school an alert goes to: the roster's, as the attendance feed carries it, else the latest mark's or incident's.
            var school = states.GetValueOrDefault(id)
                ?? marks[id].OrderByDescending(m => m.Date).Select(m => m.SchoolId)
                    .Concat(incidents[id].OrderByDescending(i => i.Date).Select(i => i.SchoolId)).FirstOrDefault();
            if (school is null)
            {
                continue;   // LMS or mastery only: no school to tell yet; scored when a school signal arrives
            }
            var studentDays = days is not null
                ? days.TryGetValue(id, out var known) ? [.. known.Select(d => new SchoolDay(d.Key, d.Value))] : []
                : storedDays.GetValueOrDefault(id) ?? [];
            var signals = new StudentSignals(
                studentDays,
                [.. marks[id].Select(m => new MarkSignal(m.CourseId, m.Term, m.MarkPercent, m.Date))],
                [.. incidents[id].Select(i => new IncidentSignal(i.Date, i.Category, i.Severity))],
                [.. mastery[id].Select(m => new MasterySignal(m.SkillId, m.ProbabilityMastered, m.Attempts))],
                [.. lms[id].Where(l => !l.Voided).Select(l => new LmsSignal(DateOnly.FromDateTime(l.Timestamp.UtcDateTime), l.DurationSeconds))]);
            // With a calendar a score reads the school year the school (or the student's latest signal) has reached only: a
            // new year starts afresh. Its school days are counted as the indicator counts them (EnrolledDays): every school
            // day enrolled through the date the feed has reported, unrecorded ones present, so an absences-only feed gives
            // the inputs a full feed would.
            FeedReport? feed = feeds.TryGetValue(school, out var report) ? report : null;
            if (!calendars.IsEmpty && Later(signals.Latest, feed?.Through) is { } latest
                && (asOf is { } cut && cut < latest ? cut : latest) is var day
                && calendars.CountingYear(school, day, signals.Days.Where(d => d.Date <= day).Select(d => (DateOnly?)d.Date).Max()) is { } year)
            {
                var since = signals.Since(year.FirstDay);
                // The previous school year: its attendance, incidents and marks (the dropout model reads all three).
                var previous = PriorYearRecord.Of(signals, calendars.YearBefore(school, year), feed?.SendsPresentDays ?? false);
                signals = since with
                {
                    Days = EnrolledDays.Of(since.Days, year, feed, asOf),
                    PriorYear = previous?.Attendance,
                    Previous = previous,
                };
            }
            result.Add(new StudentSignalsRow(id, school, signals));
        }
        return result;
    }

    /// <summary>
    /// Every student a model of <paramref name="kind"/> can score, in id order: chronic absence those with attendance;
    /// dropout those with attendance, marks or incidents.
    /// </summary>
    public async Task<IReadOnlyList<string>> StudentIdsAsync(string kind, CancellationToken ct)
    {
        var states = db.RiskStates.AsNoTracking().Select(s => s.StudentId);
        var ids = ScoredKinds.ReadsEverySignal(kind)
            ? await states.Union(db.CourseMarks.AsNoTracking().Select(m => m.StudentId)).Union(db.BehaviorIncidents.AsNoTracking().Select(i => i.StudentId)).ToListAsync(ct)
            : await states.ToListAsync(ct);
        ids.Sort(StringComparer.Ordinal);
        return ids;
    }

    /// <summary>
    /// The next <paramref name="take"/> students a model of <paramref name="kind"/> can score after <paramref name="after"/>
    /// (null: from the first), in the database's order of ids: a rescore walks everyone a page at a time, never holding every id.
    /// </summary>
    public Task<List<string>> StudentIdsAfterAsync(string kind, string? after, int take, CancellationToken ct)
    {
        var states = db.RiskStates.AsNoTracking().Select(s => s.StudentId);
        var ids = ScoredKinds.ReadsEverySignal(kind)
            ? states.Union(db.CourseMarks.AsNoTracking().Select(m => m.StudentId)).Union(db.BehaviorIncidents.AsNoTracking().Select(i => i.StudentId))
            : states;
        return (after is null ? ids : ids.Where(id => string.Compare(id, after) > 0)).OrderBy(id => id).Take(take).ToListAsync(ct);
    }

    /// <summary>Every student a model of <paramref name="kind"/> can score, with their signals (as of a date when given), read 500 students at a time.</summary>
    public async IAsyncEnumerable<StudentSignalsRow> AllAsync(string kind, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct,
        DateOnly? asOf = null)
    {
        foreach (var chunk in (await StudentIdsAsync(kind, ct)).Chunk(500))
        {
            foreach (var row in await LoadAsync(kind, chunk, null, ct, asOf))
            {
                yield return row;
            }
        }
    }

    /// <summary>
    /// The students' stored school days, in date order: from their packs (one row a student, with this unit of work's laid over),
    /// and from the day rows only for a student without a pack (day rows written around the consumer, as tests and seeds do).
    /// </summary>
    private async Task<Dictionary<string, List<SchoolDay>>> StoredDaysAsync(string[] ids, HashSet<string> wanted, CancellationToken ct)
    {
        var result = Overlay(await db.AttendancePacks.AsNoTracking().Where(p => EF.Parameter(ids).Contains(p.StudentId)).ToListAsync(ct), p => p.StudentId)
            .Where(p => wanted.Contains(p.StudentId)).ToDictionary(p => p.StudentId, p => AttendancePacking.Decode(p.Days), StringComparer.Ordinal);
        var unpacked = ids.Where(id => !result.ContainsKey(id)).ToArray();
        if (unpacked.Length > 0)
        {
            var rest = unpacked.ToHashSet(StringComparer.Ordinal);
            foreach (var group in Overlay(await db.AttendanceDays.AsNoTracking().Where(d => EF.Parameter(unpacked).Contains(d.StudentId)).ToListAsync(ct), d => (d.StudentId, d.Date))
                .Where(d => rest.Contains(d.StudentId)).GroupBy(d => d.StudentId))
            {
                result[group.Key] = [.. group.OrderBy(d => d.Date).Select(d => new SchoolDay(d.Date, d.Status))];
            }
        }
        return result;
    }

    private static DateOnly? Later(DateOnly? a, DateOnly? b) => a is null ? b : b is null ? a : a > b ? a : b;

    /// <summary>The stored rows with this unit of work's added or changed rows of the same type in their place.</summary>
    private List<T> Overlay<T, TKey>(List<T> stored, Func<T, TKey> key) where T : class where TKey : notnull => Overlay<T, T, TKey>(stored, r => r, key);

    /// <summary>The stored rows' columns (<paramref name="read"/>) with this unit of work's added or changed rows of <typeparamref name="T"/> in their place.</summary>
    private List<TRead> Overlay<T, TRead, TKey>(List<TRead> stored, Func<T, TRead> read, Func<TRead, TKey> key) where T : class where TKey : notnull
    {
        // Entries<T>() would detect changes again on every call; LoadAsync detected them once.
        var autoDetect = db.ChangeTracker.AutoDetectChangesEnabled;
        db.ChangeTracker.AutoDetectChangesEnabled = false;
        List<TRead> pending;
        try
        {
            pending = db.ChangeTracker.Entries<T>().Where(e => e.State is EntityState.Added or EntityState.Modified).Select(e => read(e.Entity)).ToList();
        }
        finally
        {
            db.ChangeTracker.AutoDetectChangesEnabled = autoDetect;
        }
        if (pending.Count == 0)
        {
            return stored;
        }
        var byKey = stored.ToDictionary(key);
        foreach (var row in pending)
        {
            byKey[key(row)] = row;
        }
        return [.. byKey.Values];
    }
}
