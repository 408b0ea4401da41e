using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Calendars;
using Beacon.RiskModels.Dropout;
using Beacon.RiskModels.History;
using Microsoft.EntityFrameworkCore;

namespace Beacon.EarlyWarning.Scoring;

/// <summary>One student in one school year: the model's inputs at the year's scoring point, as then known, and the year's outcome.</summary>
public sealed record HistoryExample(string StudentId, string SchoolYear, DateOnly Point, float[] Features, bool Label);

/// <summary>
/// Training sets from the district's own history. For a kind and a scoring point (the n-th school day of each year), every
/// student with a derived outcome for the year (Monitoring/DerivedOutcomes) gets the features the live code computes,
/// from what Early warning knew at the end of that day: attendance from the versions of each day (a correction that
/// arrived later is not used), counted as the live path counts it (EnrolledDays: every school day enrolled through the date
/// the school's feed had reported by then, a day without a record present, so an absences-only feed trains on the inputs
/// a full feed would), course marks, incidents and LMS activity dated on or before the point and stored by then
/// (a mark or incident corrected after the point is left out rather than seen in its later form: the projection keeps only
/// the latest version of those), and only what is dated in that school year. Mastery has no history and is not used.
/// </summary>
public sealed class HistoryTrainingSet(EarlyWarningDbContext db, TimeProvider clock)
{
    /// <param name="withPriorYear">Append the previous school year's inputs (<see cref="ScoredKinds.WithPriorYear"/>), from its days,
    /// incidents and marks as known at the point.</param>
    public async Task<IReadOnlyList<HistoryExample>> BuildAsync(string kind, int schoolDay, IReadOnlyCollection<string>? years, CancellationToken ct,
        bool withPriorYear = false)
    {
        var set = withPriorYear ? ScoredKinds.WithPriorYear(kind) : null;
        var calendars = await db.CalendarsAsync(ct);
        var labels = await db.YearOutcomes.AsNoTracking().Where(o => o.Kind == kind).ToListAsync(ct);
        var schoolOf = await db.RiskStates.AsNoTracking().ToDictionaryAsync(s => s.StudentId, s => s.SchoolId, ct);
        var now = clock.GetUtcNow();
        var feeds = new Dictionary<(string School, string Year), FeedReport?>();
        var result = new List<HistoryExample>();
        foreach (var yearLabels in labels.Where(l => years is null || years.Contains(l.SchoolYear)).GroupBy(l => l.SchoolYear).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            foreach (var chunk in yearLabels.Chunk(500))
            {
                // Each student's point is the n-th school day of their school's year (schools may differ in breaks).
                var points = new Dictionary<string, (SchoolYearCalendar Year, DateOnly Point, SchoolYearCalendar? Before)>();
                foreach (var label in chunk)
                {
                    var year = calendars.YearsOf(schoolOf.GetValueOrDefault(label.StudentId) ?? "").FirstOrDefault(y => y.Label == label.SchoolYear);
                    if (year?.SchoolDay(schoolDay) is { } point)
                    {
                        points[label.StudentId] = (year, point, withPriorYear ? calendars.YearBefore(schoolOf.GetValueOrDefault(label.StudentId) ?? "", year) : null);
                    }
                }
                var ids = points.Keys.ToList();
                var (from, to) = ids.Count == 0 ? (DateOnly.MinValue, DateOnly.MinValue)
                    : (points.Values.Min(p => p.Before?.FirstDay ?? p.Year.FirstDay), points.Values.Max(p => p.Point));
                var days = (await db.AttendanceVersions.AsNoTracking().Where(v => ids.Contains(v.StudentId) && v.Date >= from && v.Date <= to).ToListAsync(ct))
                    .ToLookup(v => v.StudentId);
                var everySignal = ScoredKinds.ReadsEverySignal(kind);
                var marks = everySignal ? (await db.CourseMarks.AsNoTracking().Where(m => ids.Contains(m.StudentId) && m.Date >= from && m.Date <= to).ToListAsync(ct)).ToLookup(m => m.StudentId) : null;
                var incidents = everySignal ? (await db.BehaviorIncidents.AsNoTracking().Where(i => ids.Contains(i.StudentId) && i.Date >= from && i.Date <= to).ToListAsync(ct)).ToLookup(i => i.StudentId) : null;
                var lms = everySignal ? (await db.LmsActivity.AsNoTracking().Where(a => ids.Contains(a.StudentId)).ToListAsync(ct)).ToLookup(a => a.StudentId) : null;
                foreach (var label in chunk.Where(l => points.ContainsKey(l.StudentId)))
                {
                    var (year, point, before) = points[label.StudentId];
                    var knownBy = PointInTime.EndOf(point);
                    var school = schoolOf.GetValueOrDefault(label.StudentId) ?? "";
                    if (!feeds.TryGetValue((school, year.Label), out var feed))
                    {
                        feeds[(school, year.Label)] = feed = await FeedAtAsync(school, year, point, ct);
                    }
                    var known = PointInTime.AsKnown(days[label.StudentId].Where(v => v.Date >= year.FirstDay)
                        .Select(v => new KnownVersion<DateOnly, SchoolDay>(v.Date, v.Date, new SchoolDay(v.Date, v.Status), v.KnownFrom, v.Sequence)), point, knownBy);
                    // The school days as the live path would have counted them at the point (EnrolledDays): unrecorded days
                    // through the date the school's feed had reported by then are days present.
                    // Marks and incidents stored by the point, dated from `first` through `last`.
                    MarkSignal[] Marks(DateOnly first, DateOnly last) => [.. (marks?[label.StudentId] ?? []).Where(m => m.Date >= first && m.Date <= last && m.OccurredAt <= knownBy)
                        .Select(m => new MarkSignal(m.CourseId, m.Term, m.MarkPercent, m.Date))];
                    IncidentSignal[] Incidents(DateOnly first, DateOnly last) => [.. (incidents?[label.StudentId] ?? []).Where(i => i.Date >= first && i.Date <= last && i.OccurredAt <= knownBy)
                        .Select(i => new IncidentSignal(i.Date, i.Category, i.Severity))];
                    // The previous year as known at the point (its days' versions that had arrived by then).
                    var priorDays = before is null ? null : PriorYear.Of(PointInTime.AsKnown(days[label.StudentId].Where(v => before.Contains(v.Date))
                        .Select(v => new KnownVersion<DateOnly, SchoolDay>(v.Date, v.Date, new SchoolDay(v.Date, v.Status), v.KnownFrom, v.Sequence)), before.LastDay, knownBy),
                        before, feed?.SendsPresentDays ?? false);
                    var signals = new StudentSignals(EnrolledDays.Of(known, year, feed, point),
                        Marks(year.FirstDay, point),
                        Incidents(year.FirstDay, point),
                        [],
                        [.. (lms?[label.StudentId] ?? []).Where(a => a.Timestamp <= knownBy && DateOnly.FromDateTime(a.Timestamp.UtcDateTime) >= year.FirstDay)
                            .Select(a => new LmsSignal(DateOnly.FromDateTime(a.Timestamp.UtcDateTime), a.DurationSeconds))],
                        priorDays,
                        before is null ? null : new PriorYearRecord(priorDays, Incidents(before.FirstDay, before.LastDay), Marks(before.FirstDay, before.LastDay)));
                    result.Add(new HistoryExample(label.StudentId, label.SchoolYear, point, ScoredKinds.Features(kind, signals, point, now, set), label.AtRisk));
                }
            }
        }
        return result;
    }

    /// <summary>
    /// How far the school's feed had reported at the end of the point, as then known: the latest date of the year, up to the
    /// point, that any record of the school's students had arrived for by then, and whether any of them was a present day.
    /// (The school is each student's current one: a student who moved carries their records to the new school here.)
    /// </summary>
    private async Task<FeedReport?> FeedAtAsync(string school, SchoolYearCalendar year, DateOnly point, CancellationToken ct)
    {
        var knownBy = PointInTime.EndOf(point);
        var versions = await (from v in db.AttendanceVersions.AsNoTracking()
                              join s in db.RiskStates.AsNoTracking() on v.StudentId equals s.StudentId
                              where s.SchoolId == school && v.Date >= year.FirstDay && v.Date <= point
                              select new { v.Date, v.Status, v.KnownFrom }).ToListAsync(ct);
        // Compared here, not in SQL: SQLite cannot compare DateTimeOffset values.
        var arrived = versions.Where(v => v.KnownFrom <= knownBy).ToList();
        return arrived.Count == 0 ? null : new FeedReport(arrived.Max(v => v.Date), arrived.Any(v => v.Status == "present"));
    }

    /// <summary>The school years with outcomes of this kind, oldest first: the latest is held out, the rest train.</summary>
    public async Task<IReadOnlyList<string>> YearsAsync(string kind, CancellationToken ct)
    {
        var calendars = await db.CalendarsAsync(ct);
        var labelled = (await db.YearOutcomes.AsNoTracking().Where(o => o.Kind == kind).Select(o => o.SchoolYear).Distinct().ToListAsync(ct)).ToHashSet();
        return [.. calendars.YearsOf("").Where(y => labelled.Contains(y.Label)).Select(y => y.Label)];
    }
}
