using System.Text.Json;
using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels.Attendance;
using Beacon.ServiceDefaults;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.EarlyWarning.Monitoring;

public sealed record BackfillRequest(string? Kind, string? From, string? To);

/// <summary>A past school day the backfill could not measure, and why (the same refusal the daily check would have logged).</summary>
public sealed record BackfillRefusal(DateOnly AsOf, string Reason);

/// <summary>What one backfill did: the audit row's figures, and the days it could not measure.</summary>
public sealed record BackfillResult(Guid BackfillId, string Kind, int ModelVersion, DateOnly? From, DateOnly? To, int SchoolDays, int DaysBackfilled, int DaysKept,
    int Runs, IReadOnlyList<BackfillRefusal> DaysRefused, int WeeksBackfilled, int WeeksKept, int Snapshots, string RequestedBy, string Trigger,
    DateTimeOffset RequestedAt, DateTimeOffset FinishedAt);

/// <summary>
/// The audit record of a monitoring backfill (who asked, when, through what, over which days, what it wrote): a backfill
/// writes history, so ops must be able to tell afterwards which charted points were computed after the fact.
/// </summary>
public sealed class MonitoringBackfillRow
{
    public Guid BackfillId { get; set; }
    public required string Kind { get; set; }
    public Guid ModelId { get; set; }
    public int ModelVersion { get; set; }
    public DateOnly? From { get; set; }
    public DateOnly? To { get; set; }
    public required string RequestedBy { get; set; }
    /// <summary>api | command</summary>
    public required string Trigger { get; set; }
    public DateTimeOffset RequestedAt { get; set; }
    public DateTimeOffset FinishedAt { get; set; }
    public int SchoolDays { get; set; }
    public int DaysBackfilled { get; set; }
    public int DaysKept { get; set; }
    public int DaysRefused { get; set; }
    public int Runs { get; set; }
    public int WeeksBackfilled { get; set; }
    public int WeeksKept { get; set; }
    public int Snapshots { get; set; }
    /// <summary>The days it could not measure, with the reason (<see cref="BackfillRefusal"/>s as JSON).</summary>
    public string RefusedJson { get; set; } = "[]";
}

/// <summary>
/// The monitoring history as if the daily job had run on each past school day of a range Early warning holds data for:
/// the drift check as of each day (<see cref="DriftMonitor"/>, the same code, reading only what is dated up to that day) and
/// the week's score snapshots the weekly report reads (every student the active model can score, as of the week's last
/// school day in the range). A day that already has a run, and a week that already has snapshots, are kept: a second
/// backfill adds nothing. Backfilled runs and snapshots say so, publish no alarm and start no retraining (they are
/// history, not news); each backfill is recorded (<see cref="MonitoringBackfillRow"/>).
/// </summary>
public sealed class MonitoringBackfill(EarlyWarningDbContext db, DriftMonitor drift, LoadedModels models, DistrictThresholds thresholds,
    StudentSignalsReader signals, TimeProvider clock, ILogger<MonitoringBackfill> logger)
{
    /// <summary>The longest range one request may cover (a school year and a bit): each day reads every student's signals.</summary>
    public const int MaximumDays = 366;

    // One backfill at a time in a process: two at once would both find a day without a run and measure it twice.
    private static readonly SemaphoreSlim OneAtATime = new(1, 1);

    public async Task<BackfillResult> RunAsync(BackfillRequest request, string requestedBy, string trigger, CancellationToken ct)
    {
        var kind = string.IsNullOrEmpty(request.Kind) ? AttendanceFeatures.Kind : request.Kind;
        var (from, to) = Validate(kind, request);
        var active = await db.Models.AsNoTracking().FirstOrDefaultAsync(m => m.Kind == kind && m.Status == ModelStatus.Active, ct)
            ?? throw new ModelRegistryException($"No active '{kind}' model to monitor: a backfill computes its history, so promote one first.");
        await OneAtATime.WaitAsync(ct);
        try
        {
            return await BackfillAsync(active, from, to, requestedBy, trigger, ct);
        }
        finally
        {
            OneAtATime.Release();
        }
    }

    /// <summary>Field by field: a date that is not yyyy-MM-dd, a day not yet over, a reversed or too long range, a kind not scored.</summary>
    private (DateOnly? From, DateOnly? To) Validate(string kind, BackfillRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        if (!ScoredKinds.IsScored(kind))
        {
            errors["kind"] = [$"Monitoring is backfilled for the models Early warning scores ({ScoredKinds.Named}); got '{kind}'."];
        }
        DateOnly? Parse(string? value, string field)
        {
            if (string.IsNullOrEmpty(value))
            {
                return null;
            }
            if (DateOnly.TryParseExact(value, "yyyy-MM-dd", out var day))
            {
                return day;
            }
            errors[field] = [$"A date yyyy-MM-dd; got '{value}'."];
            return null;
        }
        var from = Parse(request.From, "from");
        var to = Parse(request.To, "to");
        var today = DateOnly.FromDateTime(clock.GetLocalNow().DateTime);
        if (to >= today)
        {
            errors["to"] = [$"The last day must be over before it is checked (the daily job checks yesterday): at most {today.AddDays(-1):yyyy-MM-dd}; got {to:yyyy-MM-dd}."];
        }
        if (from > to)
        {
            errors["from"] = [$"The first day ({from:yyyy-MM-dd}) is after the last ({to:yyyy-MM-dd})."];
        }
        else if (from is { } f && to is { } t && t.DayNumber - f.DayNumber + 1 > MaximumDays)
        {
            errors["from"] = [$"At most {MaximumDays} days at once; {f:yyyy-MM-dd} to {t:yyyy-MM-dd} is {t.DayNumber - f.DayNumber + 1}."];
        }
        if (from >= today && !errors.ContainsKey("from"))
        {
            errors["from"] = [$"The first day must be in the past; got {from:yyyy-MM-dd}."];
        }
        return errors.Count > 0 ? throw new MonitoringValidationException(errors) : (from, to);
    }

    private async Task<BackfillResult> BackfillAsync(ModelVersionRecord active, DateOnly? from, DateOnly? to, string requestedBy, string trigger, CancellationToken ct)
    {
        var kind = active.Kind;
        var started = clock.GetUtcNow();
        var backfillId = NewId.NextGuid();
        var days = await SchoolDaysAsync(from, to, ct);
        var measured = (await db.DriftRuns.AsNoTracking().Where(r => r.Kind == kind).Select(r => r.AsOf).Distinct().ToListAsync(ct)).ToHashSet();
        int backfilled = 0, kept = 0, runs = 0;
        var refused = new List<BackfillRefusal>();
        // In date order, as the daily job would have run: the first day measured pins the baseline when the model has none.
        foreach (var day in days)
        {
            if (measured.Contains(day))
            {
                kept++;
                continue;
            }
            try
            {
                runs += (await drift.RunAsync(kind, day, DriftTriggers.Backfill, ct, backfillId)).Count;
                backfilled++;
            }
            catch (ModelRegistryException e)
            {
                // Too few students with a month of school days yet: the daily job would have been refused too.
                refused.Add(new BackfillRefusal(day, e.Message));
            }
            db.ChangeTracker.Clear();
        }
        var (weeks, weeksKept, snapshots) = await SnapshotWeeksAsync(active, days, ct);
        var row = new MonitoringBackfillRow
        {
            BackfillId = backfillId,
            Kind = kind,
            ModelId = active.ModelId,
            ModelVersion = active.Version,
            From = days.Count > 0 ? days[0] : from,
            To = days.Count > 0 ? days[^1] : to,
            RequestedBy = requestedBy,
            Trigger = trigger,
            RequestedAt = started,
            FinishedAt = clock.GetUtcNow(),
            SchoolDays = days.Count,
            DaysBackfilled = backfilled,
            DaysKept = kept,
            DaysRefused = refused.Count,
            Runs = runs,
            WeeksBackfilled = weeks,
            WeeksKept = weeksKept,
            Snapshots = snapshots,
            RefusedJson = JsonSerializer.Serialize(refused),
        };
        db.MonitoringBackfills.Add(row);
        await db.SaveChangesAsync(ct);
        logger.LogInformation(
            "Monitoring backfill {BackfillId} of {Kind} v{Version} by {User} ({Trigger}): {Days} school day(s) {From}–{To}, {Backfilled} backfilled ({Runs} runs), {Kept} kept, {Refused} refused; {Weeks} week(s) of snapshots, {WeeksKept} kept",
            backfillId, kind, active.Version, requestedBy, trigger, days.Count, row.From, row.To, backfilled, runs, kept, refused.Count, weeks, weeksKept);
        return View(row);
    }

    public static BackfillResult View(MonitoringBackfillRow row) => new(row.BackfillId, row.Kind, row.ModelVersion, row.From, row.To,
        row.SchoolDays, row.DaysBackfilled, row.DaysKept, row.Runs, JsonSerializer.Deserialize<List<BackfillRefusal>>(row.RefusedJson) ?? [], row.WeeksBackfilled,
        row.WeeksKept, row.Snapshots, row.RequestedBy, row.Trigger, row.RequestedAt, row.FinishedAt);

    /// <summary>
    /// The past school days of the range Early warning holds attendance for, in order: days with a record (a full feed
    /// records every school day), and with a calendar also its instructional days between the first and last record (an
    /// absences-only feed leaves quiet days unrecorded). Without bounds: the last <see cref="MaximumDays"/> days up to
    /// yesterday or the last record.
    /// </summary>
    private async Task<List<DateOnly>> SchoolDaysAsync(DateOnly? from, DateOnly? to, CancellationToken ct)
    {
        var yesterday = DateOnly.FromDateTime(clock.GetLocalNow().DateTime).AddDays(-1);
        var last = await db.AttendanceDays.AsNoTracking().Where(d => d.Date <= yesterday).MaxAsync(d => (DateOnly?)d.Date, ct);
        var first = await db.AttendanceDays.AsNoTracking().MinAsync(d => (DateOnly?)d.Date, ct);
        if (last is null || first is null)
        {
            return [];
        }
        var through = to is { } t && t < last ? t : last.Value;
        var since = from ?? through.AddDays(1 - MaximumDays);
        since = since > first ? since : first.Value;
        var recorded = await db.AttendanceDays.AsNoTracking().Where(d => d.Date >= since && d.Date <= through).Select(d => d.Date).Distinct().ToListAsync(ct);
        var days = recorded.ToHashSet();
        var calendars = await db.CalendarsAsync(ct);
        if (!calendars.IsEmpty)
        {
            var schools = await db.RiskStates.AsNoTracking().Select(s => s.SchoolId).Distinct().ToListAsync(ct);
            for (var day = since; day <= through; day = day.AddDays(1))
            {
                if (schools.Any(s => calendars.YearOf(s, day) is { } year && year.Contains(day) && year.IsInstructional(day)))
                {
                    days.Add(day);
                }
            }
        }
        return [.. days.Order()];
    }

    /// <summary>
    /// Each past week of the days without snapshots of the kind: every student the active model can score, scored as of the
    /// week's last school day of the range (only what is dated up to it) against the threshold in use. Flags are the threshold's
    /// alone: the live path's hysteresis and school capacity depend on each student's scoring history, which a week computed
    /// after the fact does not have.
    /// </summary>
    private async Task<(int Weeks, int Kept, int Snapshots)> SnapshotWeeksAsync(ModelVersionRecord active, List<DateOnly> days, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var current = RiskScoring.WeekStart(now);
        var weeks = days.GroupBy(d => d.AddDays(-(((int)d.DayOfWeek + 6) % 7))).Where(g => g.Key < current).ToList();
        var held = (await db.ScoreSnapshots.AsNoTracking().Where(s => s.Kind == active.Kind).Select(s => s.WeekStart).Distinct().ToListAsync(ct)).ToHashSet();
        var model = models.Get(active);
        var threshold = await thresholds.ForAsync(active, ct);
        int written = 0, made = 0;
        foreach (var week in weeks.Where(w => !held.Contains(w.Key)))
        {
            var asOf = week.Max();
            var rows = new List<(StudentSignalsRow Row, float[] Features)>();
            await foreach (var row in signals.AllAsync(active.Kind, ct, asOf))
            {
                var s = row.Signals;
                var scored = s.Days.Any(d => d.Date <= asOf)
                    || (ScoredKinds.ReadsEverySignal(active.Kind) && (s.Marks.Any(m => m.Date <= asOf) || s.Incidents.Any(i => i.Date <= asOf)));
                if (scored)
                {
                    rows.Add((row, ScoredKinds.Features(active.Kind, s, asOf, now, model.Features)));
                }
            }
            if (rows.Count == 0)
            {
                continue;
            }
            var scores = model.Probabilities([.. rows.Select(r => r.Features)]);
            await db.InsertOrUpdateAsync(rows.Select((r, i) => new ScoreSnapshot
            {
                StudentId = r.Row.StudentId,
                Kind = active.Kind,
                WeekStart = week.Key,
                SchoolId = r.Row.SchoolId,
                ModelId = active.ModelId,
                ModelVersion = active.Version,
                Score = scores[i],
                Flagged = scores[i] >= threshold,
                Threshold = threshold,
                ScoredAt = now,
                Backfilled = true,
            }).ToList(), ct);
            made++;
            written += rows.Count;
        }
        return (made, weeks.Count(w => held.Contains(w.Key)), written);
    }
}
