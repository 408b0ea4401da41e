using Beacon.EarlyWarning.Storage;
using Beacon.RiskModels.Attendance;
using Beacon.RiskModels.Dropout;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.EarlyWarning.Monitoring;

public sealed record OutcomeRow(string? StudentId, string? Kind, string? Outcome, string? KnownOn);

public sealed record OutcomesRequest(IReadOnlyList<OutcomeRow>? Outcomes);

public sealed record FeedbackRequest(string? Verdict, string? Reason, string? GivenBy);

/// <summary>A request that names what is wrong, field by field (answered as 400 problem details).</summary>
public sealed class MonitoringValidationException(IDictionary<string, string[]> errors) : Exception("The request has invalid fields.")
{
    public IDictionary<string, string[]> Errors { get; } = errors;
}

/// <summary>Outcome labels (the truth, when it is known) and counselor feedback (an opinion, kept apart).</summary>
public sealed class Labels(EarlyWarningDbContext db, TimeProvider clock)
{
    /// <summary>Outcome words per model kind, and whether each means the predicted risk happened.</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, bool>> Outcomes = new Dictionary<string, IReadOnlyDictionary<string, bool>>
    {
        [AttendanceFeatures.Kind] = new Dictionary<string, bool> { ["chronically-absent"] = true, ["term-under-10pct-absence"] = false },
        [K12DropoutFeatures.Kind] = new Dictionary<string, bool> { ["dropped-out"] = true, ["withdrew"] = true, ["finished-year"] = false, ["graduated"] = false },
    };

    public static readonly string[] Verdicts = ["not-at-risk", "false-alarm"];

    public const int MaximumRows = 10_000;

    /// <summary>All rows or none: a batch with any bad row is refused whole, each error keyed outcomes[i].field, so a resend is safe.</summary>
    public async Task<int> RecordOutcomesAsync(OutcomesRequest request, CancellationToken ct)
    {
        var rows = request.Outcomes ?? [];
        var errors = new Dictionary<string, string[]>();
        if (rows.Count is 0 or > MaximumRows)
        {
            errors["outcomes"] = [$"Send between 1 and {MaximumRows} outcomes; got {rows.Count}."];
        }
        var parsed = new List<OutcomeLabel>();
        var now = clock.GetUtcNow();
        for (var i = 0; i < rows.Count && rows.Count <= MaximumRows; i++)
        {
            var r = rows[i];
            var kind = string.IsNullOrEmpty(r.Kind) ? AttendanceFeatures.Kind : r.Kind;
            void Error(string field, string message) => errors[$"outcomes[{i}].{field}"] = [message];
            if (string.IsNullOrWhiteSpace(r.StudentId))
            {
                Error("studentId", "Required.");
            }
            if (!Outcomes.TryGetValue(kind, out var words))
            {
                Error("kind", $"Unknown kind '{kind}': use {string.Join(" or ", Outcomes.Keys.Select(k => $"'{k}'"))}.");
            }
            else if (r.Outcome is null || !words.ContainsKey(r.Outcome))
            {
                Error("outcome", $"For '{kind}' the outcome is one of {string.Join(", ", words.Keys.Select(w => $"'{w}'"))}; got '{r.Outcome}'.");
            }
            if (!DateOnly.TryParseExact(r.KnownOn, "yyyy-MM-dd", out var knownOn))
            {
                Error("knownOn", $"A date yyyy-MM-dd (the day the outcome became known); got '{r.KnownOn}'.");
            }
            else if (knownOn > DateOnly.FromDateTime(now.UtcDateTime).AddDays(1))
            {
                Error("knownOn", $"{r.KnownOn} is in the future.");
            }
            if (!errors.Keys.Any(k => k.StartsWith($"outcomes[{i}].", StringComparison.Ordinal)))
            {
                parsed.Add(new OutcomeLabel { StudentId = r.StudentId!, Kind = kind, Outcome = r.Outcome!, AtRisk = words![r.Outcome!], KnownOn = knownOn, RecordedAt = now });
            }
        }
        if (errors.Count > 0)
        {
            throw new MonitoringValidationException(errors);
        }
        // The last row for a student and kind wins: an outcome can be corrected by sending it again.
        var latest = parsed.GroupBy(p => (p.StudentId, p.Kind)).Select(g => g.Last()).ToList();
        var ids = latest.Select(l => l.StudentId).ToList();
        var existing = (await db.Outcomes.Where(o => ids.Contains(o.StudentId)).ToListAsync(ct)).ToDictionary(o => (o.StudentId, o.Kind));
        foreach (var label in latest)
        {
            if (existing.TryGetValue((label.StudentId, label.Kind), out var row))
            {
                row.Outcome = label.Outcome;
                row.AtRisk = label.AtRisk;
                row.KnownOn = label.KnownOn;
                row.RecordedAt = label.RecordedAt;
                row.Source = null;   // posted by hand: the year-end derivation leaves it alone
            }
            else
            {
                db.Outcomes.Add(label);
            }
        }
        await db.SaveChangesAsync(ct);
        return latest.Count;
    }

    /// <summary>
    /// Null when there is no such alert or the caller may not see its school. The caller's id (the token's sub) is who
    /// gives it; givenBy is only read when there is none. The same person marking the same alert again updates their reason.
    /// </summary>
    public async Task<AlertFeedback?> RecordFeedbackAsync(Guid alertId, FeedbackRequest request, string? caller, Func<string, bool> canSeeSchool, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.Verdict is null || !Verdicts.Contains(request.Verdict))
        {
            errors["verdict"] = [$"One of {string.Join(", ", Verdicts.Select(v => $"'{v}'"))}; got '{request.Verdict}'."];
        }
        if (string.IsNullOrWhiteSpace(request.Reason) || request.Reason.Length > 2000)
        {
            errors["reason"] = ["Say why, in up to 2000 characters."];
        }
        var givenBy = caller ?? request.GivenBy;
        if (string.IsNullOrWhiteSpace(givenBy))
        {
            errors["givenBy"] = ["Who gives the feedback (the counselor's staff id)."];
        }
        if (errors.Count > 0)
        {
            throw new MonitoringValidationException(errors);
        }
        var alert = await db.Alerts.AsNoTracking().FirstOrDefaultAsync(a => a.AlertId == alertId, ct);
        if (alert is null || !canSeeSchool(alert.SchoolId))
        {
            return null;
        }
        var feedback = await UpsertAsync(alert, request.Verdict!, request.Reason!, givenBy!, FeedbackSources.Counselor, ct);
        await db.SaveChangesAsync(ct);
        return feedback;
    }

    public async Task<AlertFeedback> UpsertAsync(RiskAlert alert, string verdict, string reason, string givenBy, string source, CancellationToken ct)
    {
        var row = await db.Feedback.FirstOrDefaultAsync(f => f.AlertId == alert.AlertId && f.Source == source && f.GivenBy == givenBy, ct);
        row ??= db.Feedback.Add(new AlertFeedback
        {
            FeedbackId = NewId.NextGuid(),
            AlertId = alert.AlertId,
            StudentId = alert.StudentId,
            AlertKind = alert.Kind,
            ModelVersion = alert.ModelVersion,
            Verdict = verdict,
            Reason = reason,
            GivenBy = givenBy,
            Source = source,
        }).Entity;
        row.Verdict = verdict;
        row.Reason = reason;
        row.RecordedAt = clock.GetUtcNow();
        return row;
    }
}

public static class FeedbackSources
{
    public const string Counselor = "counselor";
    public const string InterventionCase = "intervention-case";
}
