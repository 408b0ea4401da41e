using System.Runtime.CompilerServices;
using Beacon.EarlyWarning.Domain;
using Beacon.EarlyWarning.Scoring;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Calendars;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.EarlyWarning.Storage;

/// <summary>A model's score for the student in the last week of the year it scored them in.</summary>
public sealed record YearEndRisk(double Score, string Band, bool Flagged, DateOnly Week);

/// <summary>One student's year, every signal Early warning holds joined: a row of the analyst profile and of the research extract.</summary>
public sealed record StudentProfile(
    string StudentId, string? GivenName, string? FamilyName, string SchoolYear, string SchoolId, string? GradeLevel,
    string? Sex, string? RaceEthnicity, bool? EconomicallyDisadvantaged, bool? EnglishLearner, bool? Disability,
    int DaysEnrolled, int DaysAbsent, double? AttendanceRate, DateOnly? FirstAttendanceDate, DateOnly? LastAttendanceDate,
    int CoursesGraded, double? MarkMean, int CourseFailures,
    int Incidents, int MajorIncidents, DateOnly? LastIncidentDate,
    int LmsStatements, int LmsActiveDays, double LmsMinutes, DateOnly? LastLmsDate,
    int SkillsAttempted, int SkillsMastered,
    IReadOnlyDictionary<string, YearEndRisk> Risks, IReadOnlyDictionary<string, string> Outcomes,
    string? ExitCode, DateOnly? ExitDate);

/// <summary>
/// Builds the profile of a school year from the projections, a page of students at a time (the year's ids are listed once,
/// as the features export lists them), so a district of any size streams out without every student's rows in memory. The year is one of the
/// calendar's: Early warning knows school years, not terms. A student belongs to the year when an attendance record, a
/// mark or an incident is dated in it, or a year outcome was derived for it. Days are counted by <see cref="EnrolledDays"/>
/// as the indicator and the year-end outcomes count them (to the exit day for a student who left).
/// </summary>
public sealed class StudentProfiles(EarlyWarningDbContext db, IOptions<ChronicAbsenceOptions> absence, IOptions<BehaviorIndicatorOptions> behavior,
    IOptions<CoursePerformanceOptions> marks)
{
    public const int PageSize = 1000;

    /// <summary>The school years of the calendar held, earliest first.</summary>
    public async Task<IReadOnlyList<string>> YearsAsync(CancellationToken ct) =>
        (await db.CalendarsAsync(ct)).YearsOf("").Select(y => y.Label).ToList();

    /// <summary>Every student of <paramref name="schoolYear"/> (one of <see cref="YearsAsync"/>), in id order.</summary>
    public async IAsyncEnumerable<StudentProfile> YearAsync(string schoolYear, [EnumeratorCancellation] CancellationToken ct)
    {
        var calendars = await db.CalendarsAsync(ct);
        var district = calendars.YearsOf("").First(y => y.Label == schoolYear);
        // A school's own year may start or end on other days than the district's: read the widest span.
        var spans = await db.CalendarYears.AsNoTracking().Where(c => c.SchoolYear == schoolYear && c.FirstDay != null && c.LastDay != null)
            .Select(c => new { c.FirstDay, c.LastDay }).ToListAsync(ct);
        var first = spans.Select(s => s.FirstDay!.Value).Append(district.FirstDay).Min();
        var last = spans.Select(s => s.LastDay!.Value).Append(district.LastDay).Max();
        // An exit in the summer after the year ends the year (as the year-end outcomes read it).
        var exitsBefore = calendars.YearsOf("").FirstOrDefault(y => y.FirstDay > district.LastDay)?.FirstDay ?? last.AddDays(90);
        var (from, through) = (new DateTimeOffset(first.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero), new DateTimeOffset(last.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero));

        var ids = db.AttendanceDays.AsNoTracking().Where(d => d.Date >= first && d.Date <= last).Select(d => d.StudentId)
            .Union(db.CourseMarks.AsNoTracking().Where(m => m.Date >= first && m.Date <= last).Select(m => m.StudentId))
            .Union(db.BehaviorIncidents.AsNoTracking().Where(i => i.Date >= first && i.Date <= last).Select(i => i.StudentId))
            .Union(db.YearOutcomes.AsNoTracking().Where(o => o.SchoolYear == schoolYear).Select(o => o.StudentId));
        // The year's ids are read once (a keyset page would re-run the union over the year's attendance for every page);
        // the rows themselves are read a page at a time.
        var everyone = await ids.ToListAsync(ct);
        everyone.Sort(StringComparer.Ordinal);
        foreach (var page in everyone.Chunk(PageSize))
        {
            var roster = await db.Roster.AsNoTracking().Where(r => page.Contains(r.StudentId)).ToDictionaryAsync(r => r.StudentId, ct);
            var demographics = await db.Demographics.AsNoTracking().Where(d => page.Contains(d.StudentId)).ToDictionaryAsync(d => d.StudentId, ct);
            var states = await db.RiskStates.AsNoTracking().Where(s => page.Contains(s.StudentId)).ToDictionaryAsync(s => s.StudentId, s => s.SchoolId, ct);
            var days = (await db.AttendanceDays.AsNoTracking().Where(d => page.Contains(d.StudentId) && d.Date >= first && d.Date <= last).ToListAsync(ct))
                .ToLookup(d => d.StudentId);
            var courseMarks = (await db.CourseMarks.AsNoTracking().Where(m => page.Contains(m.StudentId) && m.Date >= first && m.Date <= last).ToListAsync(ct))
                .ToLookup(m => m.StudentId);
            var incidents = (await db.BehaviorIncidents.AsNoTracking().Where(i => page.Contains(i.StudentId) && i.Date >= first && i.Date <= last).ToListAsync(ct))
                .ToLookup(i => i.StudentId);
            var lms = (await db.LmsActivity.AsNoTracking().Where(a => page.Contains(a.StudentId) && !a.Voided).ToListAsync(ct))
                .Where(a => a.Timestamp >= from && a.Timestamp < through).ToLookup(a => a.StudentId);
            var mastery = (await db.SkillMastery.AsNoTracking().Where(m => page.Contains(m.StudentId)).ToListAsync(ct)).ToLookup(m => m.StudentId);
            var snapshots = (await db.ScoreSnapshots.AsNoTracking().Where(s => page.Contains(s.StudentId) && s.WeekStart >= first.AddDays(-6) && s.WeekStart <= last).ToListAsync(ct))
                .ToLookup(s => s.StudentId);
            var outcomes = (await db.YearOutcomes.AsNoTracking().Where(o => page.Contains(o.StudentId) && o.SchoolYear == schoolYear).ToListAsync(ct))
                .ToLookup(o => o.StudentId);
            var exits = (await db.StudentExits.AsNoTracking().Where(e => page.Contains(e.StudentId)).ToListAsync(ct))
                .Where(e => e.ExitedOn >= first && e.ExitedOn < exitsBefore).ToDictionary(e => e.StudentId);

            var schoolOf = page.ToDictionary(id => id, id =>
                // The school the year's own dated signals name, else the one the attendance feed or the roster names now.
                courseMarks[id].Select(m => (m.Date, m.SchoolId)).Concat(incidents[id].Select(i => (i.Date, i.SchoolId))).OrderByDescending(x => x.Date)
                    .Select(x => x.SchoolId).FirstOrDefault()
                ?? exits.GetValueOrDefault(id)?.SchoolId ?? states.GetValueOrDefault(id) ?? roster.GetValueOrDefault(id)?.SchoolId ?? "unknown");
            var feeds = await db.FeedReportsAsync([.. schoolOf.Values.Distinct()], ct);
            foreach (var id in page)
            {
                var school = schoolOf[id];
                var year = calendars.YearsOf(school).FirstOrDefault(y => y.Label == schoolYear) ?? district;
                var exit = exits.GetValueOrDefault(id);
                var recorded = days[id].Select(d => new SchoolDay(d.Date, d.Status)).ToList();
                var enrolled = EnrolledDays.Of(recorded, year, feeds.TryGetValue(school, out var feed) ? feed : null, exit?.ExitedOn);
                var summary = ChronicAbsenceIndicator.Summarize(enrolled, absence.Value);
                var studentMarks = courseMarks[id].ToList();
                var studentIncidents = incidents[id].ToList();
                var statements = lms[id].ToList();
                var skills = mastery[id].ToList();
                var person = roster.GetValueOrDefault(id);
                var who = demographics.GetValueOrDefault(id);
                yield return new StudentProfile(
                    id, person?.GivenName, person?.FamilyName, schoolYear, school, person?.GradeLevel,
                    who?.Sex, who?.RaceEthnicity, who?.EconomicallyDisadvantaged, who?.EnglishLearner, who?.Disability,
                    summary.DaysEnrolled, summary.DaysAbsent, summary.DaysEnrolled == 0 ? null : Math.Round(1 - summary.AbsenceRate, 4),
                    recorded.Count == 0 ? null : recorded.Min(d => d.Date), recorded.Count == 0 ? null : recorded.Max(d => d.Date),
                    studentMarks.Count, studentMarks.Count == 0 ? null : Math.Round(studentMarks.Average(m => m.MarkPercent), 2),
                    studentMarks.Count(m => m.MarkPercent < marks.Value.PassingMark),
                    studentIncidents.Count, studentIncidents.Count(i => IsMajor(i.Category, i.Severity)),
                    studentIncidents.Count == 0 ? null : studentIncidents.Max(i => i.Date),
                    statements.Count, statements.Select(a => DateOnly.FromDateTime(a.Timestamp.UtcDateTime)).Distinct().Count(),
                    Math.Round(statements.Sum(a => a.DurationSeconds) / 60, 1),
                    statements.Count == 0 ? null : DateOnly.FromDateTime(statements.Max(a => a.Timestamp).UtcDateTime),
                    skills.Count(m => m.Attempts > 0), skills.Count(m => m.Mastered),
                    snapshots[id].GroupBy(s => s.Kind).Select(g => g.MaxBy(s => s.WeekStart)!)
                        .ToDictionary(s => s.Kind, s => new YearEndRisk(Math.Round(s.Score, 4), RiskBands.For(s.Score, s.Threshold), s.Flagged, s.WeekStart)),
                    outcomes[id].ToDictionary(o => o.Kind, o => o.Outcome),
                    exit?.ExitCode, exit?.ExitedOn);
            }
        }
    }

    /// <summary>The behaviour indicator's "major": a major severity or a suspension-like category.</summary>
    private bool IsMajor(string category, string severity) =>
        behavior.Value.SuspensionCategories.Contains(category) || behavior.Value.SuspensionSeverities.Contains(severity);
}
