using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Dropout;
using Microsoft.EntityFrameworkCore;

namespace Beacon.EarlyWarning.Scoring;

/// <summary>A student's signals from every projection, and the school an alert about them goes to.</summary>
public sealed record StudentSignalsRow(string StudentId, string SchoolId, StudentSignals Signals);

/// <summary>
/// Reads what the dropout model needs from Early warning's projections, a set of students at a time (one query
/// per projection). Scoring happens in the unit of work of the signal that changed it, before the save, so
/// rows added or changed in this unit of work (in the change tracker, not yet in the database) are laid over
/// the stored ones: the score sees the signal that caused it.
/// </summary>
public sealed class StudentSignalsReader(EarlyWarningDbContext db)
{
    /// <param name="days">The caller's current view of the students' school days, when it holds one (the attendance batch does).</param>
    public async Task<IReadOnlyList<StudentSignalsRow>> LoadAsync(IReadOnlyCollection<string> studentIds, IReadOnlyDictionary<string, Dictionary<DateOnly, string>>? days, CancellationToken ct)
    {
        var ids = studentIds.Distinct().ToArray();
        var marks = Overlay(await db.CourseMarks.AsNoTracking().Where(r => ids.Contains(r.StudentId)).ToListAsync(ct), r => (r.StudentId, r.CourseId, r.Term))
            .Where(r => ids.Contains(r.StudentId)).ToLookup(r => r.StudentId);
        var incidents = Overlay(await db.BehaviorIncidents.AsNoTracking().Where(r => ids.Contains(r.StudentId)).ToListAsync(ct), r => r.IncidentId)
            .Where(r => ids.Contains(r.StudentId)).ToLookup(r => r.StudentId);
        var mastery = Overlay(await db.SkillMastery.AsNoTracking().Where(r => ids.Contains(r.StudentId)).ToListAsync(ct), r => (r.StudentId, r.SkillId))
            .Where(r => ids.Contains(r.StudentId)).ToLookup(r => r.StudentId);
        var lms = Overlay(await db.LmsActivity.AsNoTracking().Where(r => ids.Contains(r.StudentId)).ToListAsync(ct), r => r.StatementId)
            .Where(r => ids.Contains(r.StudentId)).ToLookup(r => r.StudentId);
        var states = Overlay(await db.RiskStates.AsNoTracking().Where(r => ids.Contains(r.StudentId)).ToListAsync(ct), r => r.StudentId)
            .ToDictionary(r => r.StudentId, r => r.SchoolId);
        ILookup<string, SchoolDay> storedDays = days is null
            ? Overlay(await db.AttendanceDays.AsNoTracking().Where(d => ids.Contains(d.StudentId)).ToListAsync(ct), d => (d.StudentId, d.Date))
                .Where(d => ids.Contains(d.StudentId)).ToLookup(d => d.StudentId, d => new SchoolDay(d.Date, d.Status))
            : Array.Empty<SchoolDay>().ToLookup(_ => "");

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
                : storedDays[id].ToList();
            result.Add(new StudentSignalsRow(id, school, new StudentSignals(
                studentDays,
                [.. marks[id].Select(m => new MarkSignal(m.CourseId, m.Term, m.MarkPercent, m.Date))],
                [.. incidents[id].Select(i => new IncidentSignal(i.Date, i.Category, i.Severity))],
                [.. mastery[id].Select(m => new MasterySignal(m.SkillId, m.ProbabilityMastered, m.Attempts))],
                [.. lms[id].Select(l => new LmsSignal(DateOnly.FromDateTime(l.Timestamp.UtcDateTime), l.DurationSeconds))])));
        }
        return result;
    }

    /// <summary>Every student Early warning can score for dropout: those with attendance, marks or incidents.</summary>
    public async Task<IReadOnlyList<string>> StudentIdsAsync(CancellationToken ct)
    {
        var ids = await db.RiskStates.AsNoTracking().Select(s => s.StudentId)
            .Union(db.CourseMarks.AsNoTracking().Select(m => m.StudentId))
            .Union(db.BehaviorIncidents.AsNoTracking().Select(i => i.StudentId))
            .ToListAsync(ct);
        ids.Sort(StringComparer.Ordinal);
        return ids;
    }

    /// <summary>The stored rows with this unit of work's added or changed rows of the same type in their place.</summary>
    private List<T> Overlay<T, TKey>(List<T> stored, Func<T, TKey> key) where T : class where TKey : notnull
    {
        var pending = db.ChangeTracker.Entries<T>().Where(e => e.State is EntityState.Added or EntityState.Modified).Select(e => e.Entity).ToList();
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
