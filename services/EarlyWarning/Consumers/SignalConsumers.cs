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
// Each consumer takes one message (grades: one gathered batch) at a time, so two events about one student never
// evaluate an indicator at once; erased students' events are dropped by the erasure filter (grades: by GradeUpdates).

/// <summary>Keeps a student's behaviour or course-performance state and raises one alert per crossing in.</summary>
public sealed class IndicatorAlerts(EarlyWarningDbContext db, TimeProvider clock)
{
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
            db.Raise(alert);
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
    IErasedStudents erased, TimeProvider clock) : IRecordsHandler<GradeRecorded>
{
    public async Task ApplyAsync(IReadOnlyList<GradeRecorded> batch, CancellationToken ct)
    {
        var records = await erased.WithoutErasedAsync(batch, m => m.StudentId, ct);
        var ids = records.Select(m => m.StudentId).Distinct().ToList();
        var marks = (await db.CourseMarks.Where(r => ids.Contains(r.StudentId)).ToListAsync(ct))
            .GroupBy(r => r.StudentId).ToDictionary(g => g.Key, g => g.ToList());
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

public sealed class BehaviorIncidentRecordedConsumer(EarlyWarningDbContext db, IndicatorAlerts alerts, IOptions<BehaviorIndicatorOptions> options,
    RiskScoring scoring, TimeProvider clock) : IConsumer<BehaviorIncidentRecorded>
{
    public async Task Consume(ConsumeContext<BehaviorIncidentRecorded> context)
    {
        var m = context.Message;
        var ct = context.CancellationToken;
        var incidents = await db.BehaviorIncidents.Where(r => r.StudentId == m.StudentId).ToListAsync(ct);
        var row = incidents.FirstOrDefault(r => r.IncidentId == m.IncidentId) ?? await db.BehaviorIncidents.FindAsync([m.IncidentId], ct);
        if (row is null)
        {
            row = db.BehaviorIncidents.Add(new BehaviorIncidentRow { IncidentId = m.IncidentId, StudentId = m.StudentId, SchoolId = m.SchoolId, Category = m.Category, Severity = m.Severity }).Entity;
            incidents.Add(row);
        }
        else if (m.OccurredAt <= row.OccurredAt)
        {
            return;   // the same version again, or an older one
        }
        // A correction may move the incident to another student: the first one's indicator is read again without it.
        var movedFrom = row.StudentId != m.StudentId ? (row.StudentId, row.SchoolId) : default;
        if (movedFrom != default)
        {
            incidents.Add(row);
        }
        row.StudentId = m.StudentId;
        row.SchoolId = m.SchoolId;
        row.Date = m.Date;
        row.Category = m.Category;
        row.Severity = m.Severity;
        row.OccurredAt = m.OccurredAt;
        await alerts.ApplyAsync(m.StudentId, m.SchoolId, Evaluate(incidents), ct);
        if (movedFrom != default)
        {
            var left = await db.BehaviorIncidents.Where(r => r.StudentId == movedFrom.StudentId && r.IncidentId != m.IncidentId).ToListAsync(ct);
            await alerts.ApplyAsync(movedFrom.StudentId, movedFrom.SchoolId, Evaluate(left), ct);
        }
        await scoring.RescoreDropoutAsync(movedFrom != default ? [m.StudentId, movedFrom.StudentId] : [m.StudentId], clock, ct);
        await db.SaveChangesAsync(ct);
    }

    private IndicatorReading Evaluate(IEnumerable<BehaviorIncidentRow> rows) =>
        BehaviorIndicator.Evaluate([.. rows.Select(r => new Incident(r.IncidentId, r.Date, r.Category, r.Severity))], options.Value);
}

/// <summary>
/// LMS statements, gathered into batches: a learning platform sends a day's sessions at once (thousands), and a
/// transaction and a re-score per statement would not keep up. Each statement id counts once (xAPI ids are immutable:
/// the same id is the same statement); the dropout model re-scores each changed student once, after the batch. The caller saves.
/// </summary>
public sealed class LmsUpdates(EarlyWarningDbContext db, RiskScoring scoring, IErasedStudents erased, TimeProvider clock) : IRecordsHandler<LmsActivityRecorded>
{
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
public sealed class LearningRecordVoidedConsumer(EarlyWarningDbContext db, RiskScoring scoring, TimeProvider clock) : IConsumer<LearningRecordVoided>
{
    public const string ActivityKind = "activity";

    public async Task Consume(ConsumeContext<LearningRecordVoided> context)
    {
        var m = context.Message;
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

public sealed class MasteryChangedConsumer(EarlyWarningDbContext db, RiskScoring scoring, TimeProvider clock) : IConsumer<MasteryChanged>
{
    public async Task Consume(ConsumeContext<MasteryChanged> context)
    {
        var m = context.Message;
        var row = await db.SkillMastery.FindAsync([m.StudentId, m.SkillId], context.CancellationToken);
        if (row is null)
        {
            row = db.SkillMastery.Add(new SkillMasteryRow { StudentId = m.StudentId, SkillId = m.SkillId }).Entity;
        }
        else if ((m.OccurredAt, m.Attempts).CompareTo((row.OccurredAt, row.Attempts)) <= 0)
        {
            return;   // an estimate no newer than the stored one
        }
        row.ProbabilityMastered = m.ProbabilityMastered;
        row.Mastered = m.Mastered;
        row.Attempts = m.Attempts;
        row.OccurredAt = m.OccurredAt;
        await scoring.RescoreDropoutAsync([m.StudentId], clock, context.CancellationToken);
        await db.SaveChangesAsync(context.CancellationToken);
    }
}

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
        bus.AddConsumer<BehaviorIncidentRecordedConsumer>(typeof(OneAtATimeDefinition<BehaviorIncidentRecordedConsumer>));
        bus.AddConsumer<LmsActivityRecordedConsumer>(typeof(GatheredRecordsDefinition<LmsActivityRecordedConsumer>));
        bus.AddConsumer<LearningRecordVoidedConsumer>(typeof(OneAtATimeDefinition<LearningRecordVoidedConsumer>));
        bus.AddConsumer<MasteryChangedConsumer>(typeof(OneAtATimeDefinition<MasteryChangedConsumer>));
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
        return builder;
    }
}
