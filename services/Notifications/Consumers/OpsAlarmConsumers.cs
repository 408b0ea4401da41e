using Beacon.Contracts.Events;
using Beacon.Notifications.Domain;
using MassTransit;

namespace Beacon.Notifications.Consumers;

/// <summary>A model's score drifted, or one of its inputs moved: an ops alarm saying which and by how much, linking the drift chart. No student is named.</summary>
public sealed class ModelDriftDetectedConsumer(OpsAlarms alarms) : IConsumer<ModelDriftDetected>
{
    public const string Kind = EventKinds.ModelDrift;

    public Task Consume(ConsumeContext<ModelDriftDetected> context)
    {
        var m = context.Message;
        return alarms.RaiseAsync(m.RunId, Kind, m.Kind, $"Model drift: {m.Kind} v{m.ModelVersion}", Body(m),
            $"/api/early-warning/v1/monitoring/charts/drift.svg?kind={m.Kind}", context.CancellationToken);
    }

    /// <summary>What moved and by how much: the score when it drifted, each input past the input alarm bound, then every significant input.</summary>
    public static string Body(ModelDriftDetected m)
    {
        // Publishers before the inputs' PSI was carried send names only.
        var psi = m.SignificantInputPsi is { } p && p.Count == m.SignificantInputs.Count ? p : null;
        var inputs = m.SignificantInputs.Select((name, i) => (Name: name, Psi: psi?[i])).ToArray();
        var moved = m.InputAlarmPsi is { } bound ? inputs.Where(x => x.Psi > bound).ToArray() : [];
        var what = new List<string>();
        if (m.ScorePsi > 0.25)
        {
            what.Add($"the score of {m.Kind} v{m.ModelVersion} drifted from its {m.Reference} (PSI {m.ScorePsi:F2} > 0.25)");
        }
        what.AddRange(moved.Select(x => $"input {x.Name} of {m.Kind} v{m.ModelVersion} moved from its {m.Reference} by PSI {x.Psi:F2} (alarm above {m.InputAlarmPsi:F2})"));
        if (what.Count == 0)
        {
            what.Add($"inputs of {m.Kind} v{m.ModelVersion} drifted significantly from its {m.Reference}");
        }
        var score = m.ScorePsi > 0.25 ? "" : $" The score's PSI is {m.ScorePsi:F2} (alarm above 0.25).";
        var significant = inputs.Length > 0
            ? $" Inputs drifting significantly: {string.Join(", ", inputs.Select(x => x.Psi is { } v ? $"{x.Name} (PSI {v:F2})" : x.Name))}."
            : "";
        return $"On {m.AsOf:yyyy-MM-dd} {string.Join("; ", what)}, over {m.Students} students.{score}{significant}";
    }
}

/// <summary>The realised false-positive rate stayed above the bound: an ops alarm linking the FPR chart.</summary>
public sealed class FalsePositiveRateExceededConsumer(OpsAlarms alarms) : IConsumer<FalsePositiveRateExceeded>
{
    public Task Consume(ConsumeContext<FalsePositiveRateExceeded> context)
    {
        var m = context.Message;
        var weeks = string.Join(", ", m.WeekStarts.Zip(m.Rates, (w, r) => $"week of {w:yyyy-MM-dd} {r:P1}"));
        var job = m.RetrainingStarted ? "A retraining job started." : "No retraining job started (one is running, or one ran within the cooldown).";
        return alarms.RaiseAsync(m.AlarmId, EventKinds.FprAboveBound, m.Kind, $"False alarms: {m.Kind} v{m.ModelVersion} above {m.Bound:P0}",
            $"The realised false-positive rate of {m.Kind} v{m.ModelVersion} (model {m.ModelId}) was above {m.Bound:P0} for {m.WeekStarts.Count} labelled weeks in a row: {weeks}. {job}",
            $"/api/early-warning/v1/monitoring/charts/fpr.svg?kind={m.Kind}", context.CancellationToken);
    }
}

/// <summary>Before labels: the expected false-positive rate left its band; an ops alarm linking the FPR chart.</summary>
public sealed class ExpectedFalsePositiveRateOutOfBandConsumer(OpsAlarms alarms) : IConsumer<ExpectedFalsePositiveRateOutOfBand>
{
    public Task Consume(ConsumeContext<ExpectedFalsePositiveRateOutOfBand> context)
    {
        var m = context.Message;
        return alarms.RaiseAsync(m.AlarmId, EventKinds.ExpectedFprBand, m.Kind, $"Expected false alarms: {m.Kind} v{m.ModelVersion} at {m.Expected:P1}",
            $"In the week of {m.WeekStart:yyyy-MM-dd} the expected false-positive rate of {m.Kind} v{m.ModelVersion} (model {m.ModelId}), from its calibrated scores, "
            + $"was {m.Expected:P1}, outside the band {m.Low:P0}–{m.High:P0}. Realised figures follow once outcomes are labelled.",
            $"/api/early-warning/v1/monitoring/charts/fpr.svg?kind={m.Kind}", context.CancellationToken);
    }
}

/// <summary>A subgroup gap above its bound: an ops alarm linking the fairness chart. Groups are named, students never.</summary>
public sealed class SubgroupGapExceededConsumer(OpsAlarms alarms) : IConsumer<SubgroupGapExceeded>
{
    public Task Consume(ConsumeContext<SubgroupGapExceeded> context)
    {
        var m = context.Message;
        return alarms.RaiseAsync(m.AlarmId, EventKinds.SubgroupGap, m.Kind, $"Subgroup gap: {m.Kind} v{m.ModelVersion}, {m.Measure} by {m.Attribute}",
            $"In the week of {m.WeekStart:yyyy-MM-dd} the {m.Measure} of {m.Kind} v{m.ModelVersion} differed by {m.Gap:P1} between {m.HighestGroup} and {m.LowestGroup} "
            + $"({m.Attribute}), above the bound of {m.Bound:P0}.",
            $"/api/early-warning/v1/monitoring/charts/fairness.svg?kind={m.Kind}", context.CancellationToken);
    }
}

/// <summary>A retraining job ended: a challenger waiting for promotion, or a failure, linking the challenger page.</summary>
public sealed class RetrainingJobFinishedConsumer(OpsAlarms alarms) : IConsumer<RetrainingJobFinished>
{
    public Task Consume(ConsumeContext<RetrainingJobFinished> context)
    {
        var m = context.Message;
        var link = $"/api/early-warning/v1/monitoring/challenger?kind={m.Kind}";
        return m.Status == "succeeded"
            ? alarms.RaiseAsync(m.JobId, EventKinds.ChallengerWaiting, m.Kind, $"Challenger waiting: {m.Kind} v{m.ChallengerVersion}",
                $"Retraining ({m.Reason}) produced {m.Kind} v{m.ChallengerVersion} ({m.ChallengerModelId}) on {m.FinishedAt:yyyy-MM-dd HH:mm} UTC; it serves nobody until a person promotes it (POST /api/early-warning/v1/models/{m.ChallengerModelId}/promote).",
                link, context.CancellationToken)
            : alarms.RaiseAsync(m.JobId, EventKinds.RetrainingFailed, m.Kind, $"Retraining failed: {m.Kind}",
                $"The retraining job {m.JobId} ({m.Reason}) failed on {m.FinishedAt:yyyy-MM-dd HH:mm} UTC: {m.Error}",
                link, context.CancellationToken);
    }
}
