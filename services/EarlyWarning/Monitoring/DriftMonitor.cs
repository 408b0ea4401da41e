using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Scoring;
using Beacon.EarlyWarning.Storage;
using Beacon.Messaging;
using Beacon.RiskModels;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Calendars;
using Beacon.RiskModels.Dropout;
using Beacon.RiskModels.History;
using Beacon.RiskModels.Monitoring;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.EarlyWarning.Monitoring;

public static class DriftReferences
{
    /// <summary>The model's training sample (its calibration slice): how far the district is from what the model learnt on.</summary>
    public const string Training = "training";

    /// <summary>The live window pinned at the model's first monitored day: what changed since. Alerts compare with this one.</summary>
    public const string Baseline = "baseline";
}

public static class DriftTriggers
{
    /// <summary>Computed after the fact for a past day by a monitoring backfill (<see cref="MonitoringBackfill"/>).</summary>
    public const string Backfill = "backfill";
}

/// <summary>
/// Measures the active model's drift two ways and stores every measure (the history):
/// <list type="bullet">
/// <item>Against its training data: the inputs it was actually served in the week to the day (every student with a school
/// day recorded in it, each as of one of their school days in the week, as the scoring path computes them: the school year
/// so far) and its scores on them, compared with the training rows cut at the same points of the year (the cold-start
/// models are trained across the term, so there are rows at every school day of it). Where the model has too few training
/// rows at those points the comparison falls back to all of them and the run says so: the model is serving outside what
/// it learnt (training/serving skew), and the per-input measures show which inputs moved and by how much.</item>
/// <item>Against its live baseline, to alarm: a like-for-like window pinned at the model's first monitored day. For
/// chronic absence that is each student's last 20–30 school days, so counts that grow as the year goes on do not alarm
/// by themselves and a change in behaviour or recording does. ModelDriftDetected is published in the same unit of work
/// when the score drifts significantly from the baseline.</item>
/// </list>
/// </summary>
public sealed class DriftMonitor(EarlyWarningDbContext db, LoadedModels models, IOptions<MonitoringOptions> options, RetrainingPolicy retraining,
    StudentSignalsReader signals, TimeProvider clock, ILogger<DriftMonitor> logger)
{
    private const int WindowMaximumDays = 30;

    /// <param name="backfill">
    /// The backfill computing this past day, or null for a check of today's. A backfilled run is marked, compares with the
    /// baseline only when that was pinned on or before the day (never with a later window: no look-ahead), and publishes
    /// no alarm nor starts a retraining: it is history, the daily job tells ops what is new.
    /// </param>
    public async Task<IReadOnlyList<DriftRun>> RunAsync(string kind, DateOnly asOf, string trigger, CancellationToken ct, Guid? backfill = null)
    {
        if (!ScoredKinds.IsScored(kind))
        {
            throw new ModelRegistryException($"Drift is measured for the models Early warning scores from its own signals ({ScoredKinds.Named}); got '{kind}'.");
        }
        var model = await db.Models.AsNoTracking().FirstOrDefaultAsync(m => m.Kind == kind && m.Status == ModelStatus.Active, ct)
            ?? throw new ModelRegistryException($"No active '{kind}' model to monitor.");
        var reference = RiskModelFile.DeserializeCard(model.CardJson).DriftReference
            ?? throw new ModelRegistryException($"Model {kind} v{model.Version} was registered without a drift reference; train a new version to monitor it.");

        var served = models.Get(model);
        var (features, scores, week) = await WindowsAsync(served, asOf, withServedWeek: true, ct);
        if (features.Count < options.Value.MinimumStudents)
        {
            throw new ModelRegistryException(
                $"Only {features.Count} student(s) have {WindowMaximumDays}+ school days recorded up to {asOf:yyyy-MM-dd}; drift needs at least {options.Value.MinimumStudents} (EarlyWarning:Monitoring:MinimumStudents).");
        }
        var now = clock.GetUtcNow();
        var runs = new List<DriftRun> { AgainstTraining(model, served, reference, week!, asOf, trigger, now) };

        var baseline = await db.DriftBaselines.FindAsync([model.ModelId], ct);
        if (baseline is null)
        {
            db.DriftBaselines.Add(new DriftBaseline
            {
                ModelId = model.ModelId,
                AsOf = asOf,
                Students = features.Count,
                PinnedAt = now,
                SampleJson = JsonSerializer.Serialize(Sample(features, scores)),
            });
            logger.LogInformation("Pinned the drift baseline of {Kind} v{Version} at {AsOf} ({Students} students)", kind, model.Version, asOf, features.Count);
        }
        else if (backfill is null || baseline.AsOf <= asOf)
        {
            var sample = JsonSerializer.Deserialize<DriftReference>(baseline.SampleJson)!;
            var result = DriftAnalysis.Compare(served.Features, sample, features, scores);
            var run = Record(model, DriftReferences.Baseline, result, asOf, trigger, now);
            runs.Add(run);
            var alarm = DriftAlarm.Of(kind, result, options.Value);
            if (backfill is null && alarm.Raised)
            {
                run.Alerted = true;
                db.Publish(new ModelDriftDetected(run.RunId, kind, model.ModelId, model.Version, run.Reference, asOf, result.ScoreDrift.Psi,
                    [.. alarm.Significant.Select(m => m.Measure)], features.Count, now, [.. alarm.Significant.Select(m => m.Psi)], alarm.InputAlarmPsi));
                logger.LogWarning("Drift: {Kind} v{Version} against the baseline on {AsOf}: {Reason}", kind, model.Version, asOf, alarm.Reason);
                // A challenger is only a candidate (a person or the promotion gate decides), so a moved input starts one as the score does.
                if (options.Value.RetrainOnDrift && (alarm.Score || alarm.Moved.Count > 0))
                {
                    await retraining.StartAsync(kind, $"{alarm.Reason} on {asOf:yyyy-MM-dd} against the baseline of v{model.Version}", ct);
                }
            }
        }
        foreach (var run in runs)
        {
            run.Backfilled = backfill is not null;
            run.BackfillId = backfill;
        }
        await db.SaveChangesAsync(ct);
        retraining.RunPending();
        return runs;
    }

    /// <summary>Re-pins the baseline of the active model to the window as of a day (after a known, accepted change).</summary>
    public async Task<DriftBaseline> PinBaselineAsync(string kind, DateOnly asOf, CancellationToken ct)
    {
        var model = await db.Models.AsNoTracking().FirstOrDefaultAsync(m => m.Kind == kind && m.Status == ModelStatus.Active, ct)
            ?? throw new ModelRegistryException($"No active '{kind}' model to monitor.");
        var (features, scores, _) = await WindowsAsync(models.Get(model), asOf, withServedWeek: false, ct);
        if (features.Count < options.Value.MinimumStudents)
        {
            throw new ModelRegistryException($"Only {features.Count} student(s) have {WindowMaximumDays}+ school days up to {asOf:yyyy-MM-dd}; a baseline needs {options.Value.MinimumStudents}.");
        }
        var baseline = await db.DriftBaselines.FindAsync([model.ModelId], ct);
        baseline ??= db.DriftBaselines.Add(new DriftBaseline { ModelId = model.ModelId, SampleJson = "" }).Entity;
        baseline.AsOf = asOf;
        baseline.Students = features.Count;
        baseline.PinnedAt = clock.GetUtcNow();
        baseline.SampleJson = JsonSerializer.Serialize(Sample(features, scores));
        await db.SaveChangesAsync(ct);
        return baseline;
    }

    /// <summary>The inputs served in the week to the day (each student at one of their days in it), and each one's point of the year (school day).</summary>
    private sealed record ServedWeek(List<float[]> Features, List<int> Points);

    /// <summary>The served week against the training rows at the same points of the year (see the class summary).</summary>
    private DriftRun AgainstTraining(ModelVersionRecord model, RiskModel served, DriftReference reference, ServedWeek week, DateOnly asOf, string trigger,
        DateTimeOffset now)
    {
        var (features, points) = (week.Features, week.Points);
        if (features.Count < options.Value.MinimumStudents)
        {
            // A week without school (a break) served nobody: a fact to record, not an error nor an alarm, and never a reason
            // to refuse the baseline run, which compares each student's last school days whenever they were.
            return Unmeasured(model, asOf, trigger, now, features.Count, features.Count == 0
                ? $"Nothing was served in the week to {asOf:yyyy-MM-dd}: no student had a school day in it (a break, or no school), so there is nothing to compare with the training data."
                : $"Only {features.Count} student(s) had a school day in the week to {asOf:yyyy-MM-dd}; comparing with the training data needs at least {options.Value.MinimumStudents} (EarlyWarning:Monitoring:MinimumStudents), so it was not measured.");
        }
        var match = reference.AtPoints(points);
        if (match is not null)
        {
            features = [.. match.CurrentRows.Select(i => features[i])];
            points = [.. match.CurrentRows.Select(i => points[i])];
        }
        var scores = served.Probabilities(features).Select(p => Math.Round((double)p, 5)).ToList();
        var run = Record(model, DriftReferences.Training, DriftAnalysis.Compare(served.Features, match?.Reference ?? reference, features, scores), asOf, trigger, now);
        var sorted = points.Order().ToArray();
        run.ServedPoints = DriftReference.Range(sorted[(int)(0.1 * (sorted.Length - 1))], sorted[(int)Math.Ceiling(0.9 * (sorted.Length - 1))]);
        run.ReferencePoints = (match?.Reference ?? reference).DescribePoints();
        run.SamePoints = match is not null;
        if (match is null && reference.Points is not null)
        {
            logger.LogWarning("{Kind} v{Version} is served at {Served} but was trained at {Trained} only: compared with every training row (training/serving skew)",
                model.Kind, model.Version, run.ServedPoints, run.ReferencePoints);
        }
        return run;
    }

    /// <summary>
    /// The like-for-like window (every student with 30+ school days, scored) and, when asked, the served week. Both come
    /// from one pass over the students' signals where they need it (the dropout window, the served week), so a check
    /// reads every projection once.
    /// </summary>
    private async Task<(List<float[]> Features, List<double> Scores, ServedWeek? Week)> WindowsAsync(RiskModel model, DateOnly asOf, bool withServedWeek,
        CancellationToken ct)
    {
        var kind = model.Features.Kind;
        var dropout = kind == K12DropoutFeatures.Kind;
        List<float[]> features = [];
        var week = withServedWeek ? new ServedWeek([], []) : null;
        if (dropout || week is not null)
        {
            var calendars = week is null ? SchoolCalendars.None : await db.CalendarsAsync(ct);
            var weekStart = asOf.AddDays(-7);
            var now = clock.GetUtcNow();
            await foreach (var row in signals.AllAsync(kind, ct, asOf))
            {
                var days = row.Signals.Days.Count(d => d.Date <= asOf);
                // The dropout model's inputs as of the day, for every student with 30+ school days by then (as in training).
                var inWindow = dropout && days >= WindowMaximumDays;
                var servedInWeek = week is not null && row.Signals.Days.Any(d => d.Date > weekStart && d.Date <= asOf);
                if (!inWindow && !servedInWeek)
                {
                    continue;
                }
                var inputs = inWindow ? ScoredKinds.Features(kind, row.Signals, asOf, now, model.Features) : null;
                if (inWindow)
                {
                    features.Add(inputs!);
                }
                if (servedInWeek)
                {
                    // The student was scored on each of their school days in the week: one of them, fixed per student, so the
                    // window spreads over the week's days as the scores did (and meets the training rows cut at each).
                    var moment = DriftAnalysis.ServedMoment(row.StudentId, [.. row.Signals.Days.Where(d => d.Date > weekStart && d.Date <= asOf).Select(d => d.Date).Order()]);
                    week!.Features.Add(moment == asOf && inputs is not null ? inputs : ScoredKinds.Features(kind, row.Signals, moment, now, model.Features));
                    // The point of the year: the school day by the calendar where there is one, else the days recorded this year.
                    var year = calendars.IsEmpty ? null : calendars.YearOf(row.SchoolId, moment);
                    week.Points.Add(year is not null ? year.InstructionalDays(year.FirstDay, moment) : row.Signals.Days.Count(d => d.Date <= moment));
                }
            }
        }
        if (!dropout)
        {
            // 30 school days fit in 90 calendar days even across a winter break; older days are not read.
            var from = asOf.AddDays(-90);
            var days = await db.AttendanceDays.AsNoTracking().Where(d => d.Date > from && d.Date <= asOf)
                .Select(d => new { d.StudentId, d.Date, d.Status }).ToListAsync(ct);
            features = days.GroupBy(d => d.StudentId)
                .Where(g => g.Count() >= WindowMaximumDays)
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => DriftAnalysis.MonitoringWindow(g.Key, g.Select(d => new SchoolDay(d.Date, d.Status))))
                // A model that reads the previous year gets it as unknown here, in the baseline and every later window alike:
                // this window is about what changed in recent days (the training run reads the year as served).
                .Select(f => FeatureSets.WithPriorYear(f, model.Features, null))
                .ToList();
        }
        var scores = features.Count == 0 ? [] : model.Probabilities(features).Select(p => Math.Round((double)p, 5)).ToList();
        return (features, scores, week);
    }

    /// <summary>A training run that measured nothing, with the reason (no measures; its PSI is not a figure and is left out of charts).</summary>
    private DriftRun Unmeasured(ModelVersionRecord model, DateOnly asOf, string trigger, DateTimeOffset now, int students, string note)
    {
        var run = NewRun(model, DriftReferences.Training, asOf, trigger, now, students, NotMeasured, NotMeasured);
        run.Note = note;
        db.DriftRuns.Add(run);
        logger.LogInformation("Drift of {Kind} v{Version} against training as of {AsOf} not measured: {Note}", model.Kind, model.Version, asOf, note);
        return run;
    }

    /// <summary>The band of a run that measured nothing (see <see cref="DriftRun.Note"/>).</summary>
    public const string NotMeasured = "not-measured";

    private static DriftReference Sample(List<float[]> features, List<double> scores)
    {
        // Every n-th student in id order: deterministic, and spread over schools.
        var step = Math.Max(1, (int)Math.Ceiling((double)features.Count / DriftReference.MaximumRows));
        var rows = Enumerable.Range(0, features.Count).Where(i => i % step == 0).ToArray();
        return new DriftReference(rows.Select(i => features[i]).ToArray(), rows.Select(i => scores[i]).ToArray());
    }

    private DriftRun Record(ModelVersionRecord model, string reference, DriftResult result, DateOnly asOf, string trigger, DateTimeOffset now)
    {
        var run = NewRun(model, reference, asOf, trigger, now, result.CurrentRows, Band(result.ScoreDrift.Band), Band(result.WorstBand));
        run.ReferenceRows = result.ReferenceRows;
        run.ScorePsi = result.ScoreDrift.Psi;
        db.DriftRuns.Add(run);
        db.DriftMeasurements.AddRange(result.Measures.Select(m => new DriftMeasurement
        {
            RunId = run.RunId,
            Measure = m.Measure,
            Psi = m.Psi,
            Band = Band(m.Band),
            KolmogorovSmirnov = m.KolmogorovSmirnov,
            KsPValue = m.KsPValue,
            Wasserstein = m.Wasserstein,
            ReferenceMissingRate = m.ReferenceMissingRate,
            CurrentMissingRate = m.CurrentMissingRate,
        }));
        return run;
    }

    /// <summary>What every run records, measured or not: which model, against what, as of when, why, over how many students.</summary>
    private static DriftRun NewRun(ModelVersionRecord model, string reference, DateOnly asOf, string trigger, DateTimeOffset now, int students,
        string scoreBand, string worstBand) => new()
        {
            RunId = NewId.NextGuid(),
            Kind = model.Kind,
            ModelId = model.ModelId,
            ModelVersion = model.Version,
            Reference = reference,
            AsOf = asOf,
            Trigger = trigger,
            Students = students,
            ScoreBand = scoreBand,
            WorstBand = worstBand,
            RanAt = now,
        };

    public static string Band(DriftBand band) => band.ToString().ToLowerInvariant();
}
