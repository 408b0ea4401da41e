using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Domain;
using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.Governance;
using Beacon.Messaging;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Calendars;
using Beacon.RiskModels.History;
using Beacon.ServiceDefaults;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.EarlyWarning.Consumers;

/// <summary>
/// Updates the attendance projection and re-evaluates the indicator, a batch of records at a time: one
/// read of the students' days and states, one transaction, so a district's morning upload is not one
/// database commit per record. Within the batch each student's records apply in arrival order, so every
/// crossing raises its alert. Idempotent: a redelivered or re-sent record changes no day, so the state
/// does not move and no second alert is raised. Each changed record also re-scores its student with the
/// active chronic-absence model, if one is promoted, in the same transaction. The caller saves.
/// </summary>
public sealed class AttendanceUpdates(EarlyWarningDbContext db, IOptions<ChronicAbsenceOptions> options, RiskScoring scoring, IErasedStudents erased,
    SignalArrivals arrivals, TimeProvider clock) : IRecordsHandler<AttendanceRecorded>, IRecordsSentTimes<AttendanceRecorded>
{
    public void Sent(IEnumerable<(AttendanceRecorded Record, DateTime? SentTime)> records) => arrivals.Note(records, m => m.StudentId);

    public async Task ApplyAsync(IReadOnlyList<AttendanceRecorded> batch, CancellationToken ct)
    {
        // The ABC indicator counts school days; per-period records do not change it.
        // Erased students' late records are dropped, so nothing erased comes back.
        var records = await erased.WithoutErasedAsync(batch.Where(m => m.Period is null), m => m.StudentId, ct);
        if (records.Count == 0)
        {
            return;
        }
        var ids = records.Select(m => m.StudentId).Distinct().ToList();
        // The students' days from their packs, one row each (the day rows only for a student without one). Only the days this
        // batch adds or changes are written, as an upsert at the end.
        var (days, packs) = await db.LoadDaysAsync(ids, ct);
        // With a calendar, days are counted in the school year, up to the date the school's feed has reported through.
        var calendars = await db.CalendarsAsync(ct);
        var schools = records.Select(m => m.SchoolId).Distinct().ToList();
        var through = await db.AttendanceThrough.Where(t => schools.Contains(t.SchoolId)).ToDictionaryAsync(t => t.SchoolId, ct);
        var written = new Dictionary<(string StudentId, DateOnly Date), string>();
        var versions = new List<AttendanceVersion>();
        var states = await db.RiskStates.Where(s => ids.Contains(s.StudentId)).ToDictionaryAsync(s => s.StudentId, ct);
        var now = clock.GetUtcNow();
        var score = await scoring.PrepareAttendanceScoringAsync(ids, now, ct);

        foreach (var message in records)
        {
            var studentDays = days.TryGetValue(message.StudentId, out var known) ? known : days[message.StudentId] = [];
            if (studentDays.TryGetValue(message.Date, out var status) && status == message.Status)
            {
                continue;
            }
            written[(message.StudentId, message.Date)] = message.Status;
            studentDays[message.Date] = message.Status;
            // The day as known from now on, kept beside the projection for point-in-time training sets.
            versions.Add(new AttendanceVersion { StudentId = message.StudentId, Date = message.Date, Status = message.Status, KnownFrom = message.OccurredAt });
            if (!through.TryGetValue(message.SchoolId, out var reported))
            {
                reported = through[message.SchoolId] = db.AttendanceThrough.Add(new SchoolAttendanceThrough { SchoolId = message.SchoolId, Through = message.Date }).Entity;
            }
            reported.Saw(message.Date, message.Status);
            var latest = studentDays.Keys.Max();
            var year = calendars.IsEmpty ? null : calendars.CountingYear(message.SchoolId, Later(reported.Through, latest), latest);
            // With a calendar the indicator and the model read the same days: every school day enrolled through the date the
            // school's feed has reported, unrecorded ones present (EnrolledDays). Without one, the days with a record.
            var counted = year is null ? null : EnrolledDays.Of(studentDays.Select(d => new SchoolDay(d.Key, d.Value)), year, reported.Report);
            var summary = counted is null
                ? ChronicAbsenceIndicator.Summarize(studentDays.Values, options.Value)
                : ChronicAbsenceIndicator.Summarize(counted, options.Value);
            var reading = ChronicAbsenceIndicator.Evaluate(summary, options.Value);
            if (!states.TryGetValue(message.StudentId, out var state))
            {
                state = states[message.StudentId] = db.RiskStates.Add(new StudentRiskState { StudentId = message.StudentId, SchoolId = message.SchoolId }).Entity;
            }
            if (year is not null && state.SchoolYear != year.Label)
            {
                // A new school year starts the indicator afresh: a student chronically absent last year is alerted again
                // when they cross this year. (A state counted before any calendar arrived just takes the year's name.)
                state.ChronicallyAbsent &= state.SchoolYear is null;
                state.SchoolYear = year.Label;
            }
            if (ChronicAbsenceIndicator.IsCrossingIn(state.ChronicallyAbsent, reading))
            {
                state.Crossings++;
                var alert = new RiskAlert
                {
                    AlertId = NewId.NextGuid(),
                    StudentId = message.StudentId,
                    SchoolId = message.SchoolId,
                    Kind = RiskKinds.ChronicAbsence,
                    Crossing = state.Crossings,
                    Reason = reading.Explanation,
                    Score = reading.Summary.AbsenceRate,
                    RaisedAt = now,
                };
                db.Raise(arrivals.Stamp(alert));
            }
            state.SchoolId = message.SchoolId;
            state.DaysEnrolled = reading.Summary.DaysEnrolled;
            state.DaysAbsent = reading.Summary.DaysAbsent;
            state.ChronicallyAbsent = reading.ChronicallyAbsent;
            state.UpdatedAt = now;
            // The model re-scores the student in the same unit of work, so score and signal commit together.
            if (score is not null)
            {
                // The model's inputs start afresh with the year too.
                // And a model that reads the previous year gets it, counted the same way.
                var prior = year is null ? null
                    : PriorYear.Of(studentDays.Select(d => new SchoolDay(d.Key, d.Value)), calendars.YearBefore(message.SchoolId, year), reported.SendsPresentDays);
                await score(new StudentDays(message.StudentId, message.SchoolId, counted ?? [.. studentDays.Select(d => new SchoolDay(d.Key, d.Value))], prior));
            }
        }
        // The changed days, each student's packed into one row, in the same unit of work: what a re-score reads. An upsert,
        // so a day row a stale pack did not show (written around the consumer) is overwritten, not a key violation retried.
        if (written.Count > 0)
        {
            await db.BeginUnitOfWorkAsync(ct);
            await db.InsertOrUpdateAsync([.. written.Select(w => new AttendanceDay { StudentId = w.Key.StudentId, Date = w.Key.Date, Status = w.Value })], ct);
            await db.InsertNewAsync(versions, ct, storeNumbersKey: true);
        }
        var changed = written.Keys.Select(k => k.StudentId).ToHashSet(StringComparer.Ordinal);
        db.Repack(days.Where(d => changed.Contains(d.Key)).ToDictionary(), packs);
        // The dropout model reads every signal kind; it scores each student once per batch, after all their days.
        await scoring.ScoreDropoutAsync(ids, now, ct, days);
        scoring.PublishScoreChanges();
    }

    private static DateOnly Later(DateOnly a, DateOnly b) => a > b ? a : b;
}

/// <summary>Single records (any producer but Ingestion, which publishes batches), gathered into batches here.</summary>
public sealed class AttendanceRecordedConsumer(EarlyWarningDbContext db, AttendanceUpdates updates)
    : GatheredRecordsConsumer<AttendanceRecorded>(db, updates);

/// <summary>Ingestion's batches of records, one message at a time and in order, each applied once (inbox).</summary>
public sealed class AttendanceBatchRecordedConsumer(EarlyWarningDbContext db, AttendanceUpdates updates, TimeProvider clock)
    : RecordBatchConsumer<AttendanceBatchRecorded, AttendanceRecorded>(db, updates, clock, batch => batch.Records);
