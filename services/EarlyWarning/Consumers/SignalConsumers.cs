using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Domain;
using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.Governance;
using Beacon.Messaging;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.EarlyWarning.Consumers;

// The B and C of the ABCs: grades and behaviour incidents update their projections and re-evaluate their
// indicator in one transaction; LMS activity and mastery are projected for the dropout model, which every
// consumer here re-scores in the same transaction when a dropout model is active.
// Each consumer takes one message or one gathered batch at a time, so two events about one student never evaluate an
// indicator at once; erased students' events are dropped by the erasure filter, or by the batch handlers themselves
// (the filter sees a gathered batch as one message without a student).

/// <summary>Keeps a student's behaviour or course-performance state and raises one alert per crossing in.</summary>
public sealed class IndicatorAlerts(EarlyWarningDbContext db, SignalArrivals arrivals, TimeProvider clock)
{
    /// <summary>
    /// Loads the students' states of one indicator into the unit of work in one query, so <see cref="ApplyAsync"/> finds
    /// them there: a batch applies a state per record, and a query for each one was a round of the batch's time.
    /// </summary>
    public Task LoadAsync(IReadOnlyCollection<string> studentIds, string kind, CancellationToken ct) =>
        db.IndicatorStates.Where(s => s.Kind == kind && EF.Parameter(studentIds).Contains(s.StudentId)).LoadAsync(ct);

    public async Task ApplyAsync(string studentId, string schoolId, IndicatorReading reading, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var state = await db.IndicatorStates.FindAsync([studentId, reading.Kind], ct);
        if (state is null)
        {
            state = db.IndicatorStates.Add(new IndicatorStateRow { StudentId = studentId, Kind = reading.Kind, SchoolId = schoolId, Explanation = "" }).Entity;
        }
        if (!state.Flagged && reading.Flagged)
        {
            state.Crossings++;
            var alert = new RiskAlert
            {
                AlertId = NewId.NextGuid(),
                StudentId = studentId,
                SchoolId = schoolId,
                Kind = reading.Kind,
                Crossing = state.Crossings,
                Reason = reading.Explanation,
                Score = reading.Score,
                RaisedAt = now,
            };
            db.Raise(arrivals.Stamp(alert));
        }
        state.SchoolId = schoolId;
        state.Flagged = reading.Flagged;
        state.Score = reading.Score;
        state.Explanation = reading.Explanation;
        state.UpdatedAt = now;
    }
}

/// <summary>
/// Course marks, a batch at a time: a district sends a marking period's grades at once (tens of thousands), and a
/// transaction per mark kept up with about 40 a second. Within the batch each mark applies in arrival order and
/// re-evaluates its student's indicator, so every crossing is seen however the marks were batched; the dropout
/// model re-scores each changed student once, after the batch. The caller saves.
/// </summary>
public sealed class GradeUpdates(EarlyWarningDbContext db, IndicatorAlerts alerts, IOptions<CoursePerformanceOptions> options, RiskScoring scoring,
    IErasedStudents erased, SignalArrivals arrivals, TimeProvider clock) : IRecordsHandler<GradeRecorded>, IRecordsSentTimes<GradeRecorded>
{
    public void Sent(IEnumerable<(GradeRecorded Record, DateTime? SentTime)> records) => arrivals.Note(records, m => m.StudentId);

    public async Task ApplyAsync(IReadOnlyList<GradeRecorded> batch, CancellationToken ct)
    {
        var records = await erased.WithoutErasedAsync(batch, m => m.StudentId, ct);
        var ids = records.Select(m => m.StudentId).Distinct().ToList();
        var marks = (await db.CourseMarks.Where(r => ids.Contains(r.StudentId)).ToListAsync(ct))
            .GroupBy(r => r.StudentId).ToDictionary(g => g.Key, g => g.ToList());
        await alerts.LoadAsync(ids, RiskKinds.CoursePerformance, ct);
        var changed = new HashSet<string>();
        foreach (var m in records)
        {
            var studentMarks = marks.TryGetValue(m.StudentId, out var known) ? known : marks[m.StudentId] = [];
            var row = studentMarks.FirstOrDefault(r => r.CourseId == m.CourseId && r.Term == m.Term);
            if (row is null)
            {
                row = db.CourseMarks.Add(new CourseMarkRow { StudentId = m.StudentId, CourseId = m.CourseId, Term = m.Term, SchoolId = m.SchoolId }).Entity;
                studentMarks.Add(row);
            }
            else if ((m.Date, m.OccurredAt).CompareTo((row.Date, row.OccurredAt)) <= 0)
            {
                continue;   // the same mark again, or one older than the stored one
            }
            row.SchoolId = m.SchoolId;
            row.MarkPercent = m.MarkPercent;
            row.Date = m.Date;
            row.OccurredAt = m.OccurredAt;
            var reading = CoursePerformanceIndicator.Evaluate([.. studentMarks.Select(r => new CourseMark(r.CourseId, r.Term, r.MarkPercent, r.Date))], options.Value);
            await alerts.ApplyAsync(m.StudentId, m.SchoolId, reading, ct);
            changed.Add(m.StudentId);
        }
        await scoring.RescoreDropoutAsync(changed, clock, ct);
    }
}

/// <summary>Single GradeRecorded events (Ingestion publishes one per mark), gathered into batches.</summary>
public sealed class GradeRecordedConsumer(EarlyWarningDbContext db, GradeUpdates updates) : GatheredRecordsConsumer<GradeRecorded>(db, updates);

/// <summary>
/// Behaviour incidents, gathered into batches: a transaction and a dropout re-score per incident fell behind a mixed
/// signal load. Within the batch each incident applies in arrival order and re-evaluates its student's indicator (and,
/// when a correction moves it to another student, the first student's without it), so every crossing is seen however
/// the incidents were batched; a version no newer than the stored one changes nothing. The dropout model re-scores
/// each changed student once, after the batch. The caller saves.
/// </summary>
public sealed class BehaviorUpdates(EarlyWarningDbContext db, IndicatorAlerts alerts, IOptions<BehaviorIndicatorOptions> options, RiskScoring scoring,
    IErasedStudents erased, SignalArrivals arrivals, TimeProvider clock) : IRecordsHandler<BehaviorIncidentRecorded>, IRecordsSentTimes<BehaviorIncidentRecorded>
{
    public void Sent(IEnumerable<(BehaviorIncidentRecorded Record, DateTime? SentTime)> records) => arrivals.Note(records, m => m.StudentId);

    public async Task ApplyAsync(IReadOnlyList<BehaviorIncidentRecorded> batch, CancellationToken ct)
    {
        var records = await erased.WithoutErasedAsync(batch, m => m.StudentId, ct);
        var incidentIds = records.Select(m => m.IncidentId).Distinct().ToList();
        // Every incident of the batch's students and of the students the batch's incidents belong to now (a correction
        // may move one away from them, and their indicator is read again without it).
        var owners = await db.BehaviorIncidents.Where(r => incidentIds.Contains(r.IncidentId)).Select(r => r.StudentId).ToListAsync(ct);
        var students = records.Select(m => m.StudentId).Concat(owners).Distinct().ToList();
        var rows = await db.BehaviorIncidents.Where(r => students.Contains(r.StudentId)).ToListAsync(ct);
        await alerts.LoadAsync(students, RiskKinds.Behavior, ct);
        var byId = rows.ToDictionary(r => r.IncidentId);
        var byStudent = students.ToDictionary(s => s, s => rows.Where(r => r.StudentId == s).ToList());
        var changed = new HashSet<string>();
        foreach (var m in records)
        {
            if (!byId.TryGetValue(m.IncidentId, out var row))
            {
                row = byId[m.IncidentId] = db.BehaviorIncidents.Add(new BehaviorIncidentRow { IncidentId = m.IncidentId, StudentId = m.StudentId, SchoolId = m.SchoolId, Category = m.Category, Severity = m.Severity }).Entity;
                byStudent[m.StudentId].Add(row);
            }
            else if (m.OccurredAt <= row.OccurredAt)
            {
                continue;   // the same version again, or an older one
            }
            var movedFrom = row.StudentId != m.StudentId ? (row.StudentId, row.SchoolId) : default;
            if (movedFrom != default)
            {
                byStudent[row.StudentId].Remove(row);
                byStudent[m.StudentId].Add(row);
            }
            row.StudentId = m.StudentId;
            row.SchoolId = m.SchoolId;
            row.Date = m.Date;
            row.Category = m.Category;
            row.Severity = m.Severity;
            row.OccurredAt = m.OccurredAt;
            await alerts.ApplyAsync(m.StudentId, m.SchoolId, Evaluate(byStudent[m.StudentId]), ct);
            changed.Add(m.StudentId);
            if (movedFrom != default)
            {
                await alerts.ApplyAsync(movedFrom.StudentId, movedFrom.SchoolId, Evaluate(byStudent[movedFrom.StudentId]), ct);
                changed.Add(movedFrom.StudentId);
            }
        }
        await scoring.RescoreDropoutAsync(changed, clock, ct);
    }

    private IndicatorReading Evaluate(IEnumerable<BehaviorIncidentRow> rows) =>
        BehaviorIndicator.Evaluate([.. rows.Select(r => new Incident(r.IncidentId, r.Date, r.Category, r.Severity))], options.Value);
}

/// <summary>Single BehaviorIncidentRecorded events (Ingestion publishes one per incident), gathered into batches.</summary>
public sealed class BehaviorIncidentRecordedConsumer(EarlyWarningDbContext db, BehaviorUpdates updates) : GatheredRecordsConsumer<BehaviorIncidentRecorded>(db, updates);

/// <summary>
/// LMS statements, gathered into batches: a learning platform sends a day's sessions at once (thousands), and a
/// transaction and a re-score per statement would not keep up. Each statement id counts once (xAPI ids are immutable:
/// the same id is the same statement); the dropout model re-scores each changed student once, after the batch. The caller saves.
/// </summary>
public sealed class LmsUpdates(EarlyWarningDbContext db, RiskScoring scoring, IErasedStudents erased, SignalArrivals arrivals, TimeProvider clock)
    : IRecordsHandler<LmsActivityRecorded>, IRecordsSentTimes<LmsActivityRecorded>
{
    public void Sent(IEnumerable<(LmsActivityRecorded Record, DateTime? SentTime)> records) => arrivals.Note(records, m => m.StudentId);

    public async Task ApplyAsync(IReadOnlyList<LmsActivityRecorded> batch, CancellationToken ct)
    {
        var records = await erased.WithoutErasedAsync(batch, m => m.StudentId, ct);
        var ids = records.Select(m => m.StatementId).Distinct().ToList();
        var known = (await db.LmsActivity.AsNoTracking().Where(a => ids.Contains(a.StatementId)).Select(a => a.StatementId).ToListAsync(ct)).ToHashSet();
        var changed = new HashSet<string>();
        foreach (var m in records.Where(m => known.Add(m.StatementId)))
        {
            db.LmsActivity.Add(new LmsActivityRow { StatementId = m.StatementId, StudentId = m.StudentId, Verb = m.Verb, ObjectId = m.ObjectId, DurationSeconds = m.DurationSeconds, Timestamp = m.Timestamp });
            changed.Add(m.StudentId);
        }
        await scoring.RescoreDropoutAsync(changed, clock, ct);
    }
}

/// <summary>Single LmsActivityRecorded events (Ingestion publishes one per statement), gathered into batches.</summary>
public sealed class LmsActivityRecordedConsumer(EarlyWarningDbContext db, LmsUpdates updates) : GatheredRecordsConsumer<LmsActivityRecorded>(db, updates);

/// <summary>
/// A voided LMS statement no longer counts (xAPI 1.0.3, Data 2.3.2): its row is kept as a tombstone and the student
/// re-scored; a voiding that overtakes its statement leaves the tombstone the statement then finds. Voided answers
/// reach this service as Mastery's new estimate (MasteryChanged).
/// </summary>
public sealed class LearningRecordVoidedConsumer(EarlyWarningDbContext db, RiskScoring scoring, SignalArrivals arrivals, TimeProvider clock) : IConsumer<LearningRecordVoided>
{
    public const string ActivityKind = "activity";

    public async Task Consume(ConsumeContext<LearningRecordVoided> context)
    {
        var m = context.Message;
        arrivals.Note([(m, context.SentTime)], v => v.StudentId);
        if (m.Kind != ActivityKind)
        {
            return;
        }
        var row = await db.LmsActivity.FindAsync([m.StatementId], context.CancellationToken);
        if (row is { Voided: true })
        {
            return;
        }
        if (row is null)
        {
            db.LmsActivity.Add(new LmsActivityRow { StatementId = m.StatementId, StudentId = m.StudentId, Verb = "voided", ObjectId = "", Timestamp = m.VoidedAt, Voided = true });
        }
        else
        {
            row.Voided = true;
        }
        await scoring.RescoreDropoutAsync([m.StudentId], clock, context.CancellationToken);
        await db.SaveChangesAsync(context.CancellationToken);
    }
}

/// <summary>
/// Mastery's estimates, gathered into batches: every item answer becomes one, more than half of a mixed signal load, and a
/// transaction, a commit and a dropout re-score per estimate kept up with about 20 a second. An estimate no newer (by time,
/// then attempts) than the stored one for its student and skill changes nothing, wherever it falls in the batch; the
/// dropout model re-scores each changed student once, after the batch. The caller saves.
/// </summary>
public sealed class MasteryUpdates(EarlyWarningDbContext db, RiskScoring scoring, IErasedStudents erased, SignalArrivals arrivals, TimeProvider clock)
    : IRecordsHandler<MasteryChanged>, IRecordsSentTimes<MasteryChanged>
{
    public void Sent(IEnumerable<(MasteryChanged Record, DateTime? SentTime)> records) => arrivals.Note(records, m => m.StudentId);

    public async Task ApplyAsync(IReadOnlyList<MasteryChanged> batch, CancellationToken ct)
    {
        var records = await erased.WithoutErasedAsync(batch, m => m.StudentId, ct);
        var students = records.Select(m => m.StudentId).Distinct().ToList();
        var skills = records.Select(m => m.SkillId).Distinct().ToList();
        var rows = await db.SkillMastery.Where(r => students.Contains(r.StudentId) && skills.Contains(r.SkillId)).ToDictionaryAsync(r => (r.StudentId, r.SkillId), ct);
        var changed = new HashSet<string>();
        foreach (var m in records)
        {
            if (!rows.TryGetValue((m.StudentId, m.SkillId), out var row))
            {
                row = rows[(m.StudentId, m.SkillId)] = db.SkillMastery.Add(new SkillMasteryRow { StudentId = m.StudentId, SkillId = m.SkillId }).Entity;
            }
            else if ((m.OccurredAt, m.Attempts).CompareTo((row.OccurredAt, row.Attempts)) <= 0)
            {
                continue;   // an estimate no newer than the stored one
            }
            row.ProbabilityMastered = m.ProbabilityMastered;
            row.Mastered = m.Mastered;
            row.Attempts = m.Attempts;
            row.OccurredAt = m.OccurredAt;
            changed.Add(m.StudentId);
        }
        await scoring.RescoreDropoutAsync(changed, clock, ct);
    }
}

/// <summary>MasteryChanged events (one per skill: Mastery's before StudentMasteryChanged, still in flight in a rolling deploy), gathered into batches.</summary>
public sealed class MasteryChangedConsumer(EarlyWarningDbContext db, MasteryUpdates updates) : GatheredRecordsConsumer<MasteryChanged>(db, updates);

/// <summary>
/// Mastery's estimates as it publishes them now, one event per student per answer batch with every skill that changed,
/// applied as the single estimates they hold (the same newest-wins rule, so old and new events mix in any order).
/// </summary>
public sealed class StudentMasteryUpdates(MasteryUpdates updates, SignalArrivals arrivals) : IRecordsHandler<StudentMasteryChanged>, IRecordsSentTimes<StudentMasteryChanged>
{
    public void Sent(IEnumerable<(StudentMasteryChanged Record, DateTime? SentTime)> records) => arrivals.Note(records, m => m.StudentId);

    public Task ApplyAsync(IReadOnlyList<StudentMasteryChanged> records, CancellationToken ct) =>
        updates.ApplyAsync([.. records.SelectMany(r => r.Skills.Select(s => new MasteryChanged(r.StudentId, s.SkillId, s.ProbabilityMastered, s.Mastered, s.Attempts, r.OccurredAt)))], ct);
}

/// <summary>StudentMasteryChanged events, gathered into batches (up to 500 students' estimates a transaction).</summary>
public sealed class StudentMasteryChangedConsumer(EarlyWarningDbContext db, StudentMasteryUpdates updates) : GatheredRecordsConsumer<StudentMasteryChanged>(db, updates);

internal static class DropoutScoringExtensions
{
    /// <summary>Scores the students with the dropout model (if one is active) and queues the score changes; the caller saves.</summary>
    public static async Task RescoreDropoutAsync(this RiskScoring scoring, IReadOnlyCollection<string> studentIds, TimeProvider clock, CancellationToken ct)
    {
        await scoring.ScoreDropoutAsync(studentIds, clock.GetUtcNow(), ct);
        scoring.PublishScoreChanges();
    }
}

public static class SignalConsumerRegistration
{
    /// <summary>The grade, behaviour, LMS and mastery consumers and the indicators' settings; call inside AddServiceBus.</summary>
    public static IBusRegistrationConfigurator AddSignalConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<GradeRecordedConsumer>(typeof(GatheredRecordsDefinition<GradeRecordedConsumer>));
        bus.AddConsumer<BehaviorIncidentRecordedConsumer>(typeof(GatheredRecordsDefinition<BehaviorIncidentRecordedConsumer>));
        bus.AddConsumer<LmsActivityRecordedConsumer>(typeof(GatheredRecordsDefinition<LmsActivityRecordedConsumer>));
        bus.AddConsumer<LearningRecordVoidedConsumer>(typeof(OneAtATimeDefinition<LearningRecordVoidedConsumer>));
        bus.AddConsumer<MasteryChangedConsumer>(typeof(GatheredRecordsDefinition<MasteryChangedConsumer>));
        bus.AddConsumer<StudentMasteryChangedConsumer>(typeof(GatheredRecordsDefinition<StudentMasteryChangedConsumer>));
        return bus;
    }

    /// <summary>EarlyWarning:Behavior and EarlyWarning:CoursePerformance, and the alerting helper.</summary>
    public static IHostApplicationBuilder AddAbcIndicators(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<BehaviorIndicatorOptions>(builder.Configuration.GetSection("EarlyWarning:Behavior"));
        builder.Services.Configure<CoursePerformanceOptions>(builder.Configuration.GetSection("EarlyWarning:CoursePerformance"));
        builder.Services.AddScoped<IndicatorAlerts>();
        builder.Services.AddScoped<GradeUpdates>();
        builder.Services.AddScoped<LmsUpdates>();
        builder.Services.AddScoped<BehaviorUpdates>();
        builder.Services.AddScoped<MasteryUpdates>();
        builder.Services.AddScoped<StudentMasteryUpdates>();
        return builder;
    }
}
