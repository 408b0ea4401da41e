using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Domain;
using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.Governance;
using Beacon.Messaging;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Calendars;
using Beacon.RiskModels.History;
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
        // Read untracked and streamed into the per-student maps: a batch of 500 students holds tens of thousands
        // of days, and tracking them all made every save scan them; a list of them all was a large-object-heap
        // allocation per batch. Only the days added or changed are tracked.
        var days = new Dictionary<string, Dictionary<DateOnly, string>>();
        await foreach (var day in db.AttendanceDays.AsNoTracking().Where(d => ids.Contains(d.StudentId))
            .Select(d => new { d.StudentId, d.Date, d.Status }).AsAsyncEnumerable().WithCancellation(ct))
        {
            if (!days.TryGetValue(day.StudentId, out var studentDays))
            {
                days[day.StudentId] = studentDays = [];
            }
            studentDays[day.Date] = day.Status;
        }
        // With a calendar, days are counted in the school year, up to the date the school's feed has reported through.
        var calendars = await db.CalendarsAsync(ct);
        var schools = records.Select(m => m.SchoolId).Distinct().ToList();
        var through = await db.AttendanceThrough.Where(t => schools.Contains(t.SchoolId)).ToDictionaryAsync(t => t.SchoolId, ct);
        var tracked = new Dictionary<(string, DateOnly), AttendanceDay>();
        var states = await db.RiskStates.Where(s => ids.Contains(s.StudentId)).ToDictionaryAsync(s => s.StudentId, ct);
        var now = clock.GetUtcNow();
        var score = await scoring.PrepareAttendanceScoringAsync(ids, now, ct);

        foreach (var message in records)
        {
            var studentDays = days.TryGetValue(message.StudentId, out var known) ? known : days[message.StudentId] = [];
            if (!studentDays.TryGetValue(message.Date, out var status))
            {
                tracked[(message.StudentId, message.Date)] = db.AttendanceDays.Add(new AttendanceDay { StudentId = message.StudentId, Date = message.Date, Status = message.Status }).Entity;
            }
            else if (status == message.Status)
            {
                continue;
            }
            else if (tracked.TryGetValue((message.StudentId, message.Date), out var day))
            {
                day.Status = message.Status;
            }
            else
            {
                // A stored day: attach it as it was, then change it, so only its status is updated.
                day = new AttendanceDay { StudentId = message.StudentId, Date = message.Date, Status = status };
                db.AttendanceDays.Attach(day);
                day.Status = message.Status;
                tracked[(message.StudentId, message.Date)] = day;
            }
            studentDays[message.Date] = message.Status;
            // The day as known from now on, kept beside the projection for point-in-time training sets.
            db.AttendanceVersions.Add(new AttendanceVersion { StudentId = message.StudentId, Date = message.Date, Status = message.Status, KnownFrom = message.OccurredAt });
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
        // Each changed student's days packed into one row in the same unit of work: what a re-score reads.
        var changed = tracked.Keys.Select(k => k.Item1).ToHashSet(StringComparer.Ordinal);
        await db.RepackAsync(days.Where(d => changed.Contains(d.Key)).ToDictionary(), ct);
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
