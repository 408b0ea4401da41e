using Beacon.EarlyWarning.Storage;

namespace Beacon.EarlyWarning.Scoring;

/// <summary>
/// What the unit of work applies and when its messages about each student were sent (the bus's SentTime), so an alert it
/// raises says which signal raised it and how long that signal waited: a dropout alert timed from a failing mark can be
/// raised by a later re-score, when another signal's backlog reaches the student (issue #18, bench/RESULTS.md). Scoped:
/// one per consumed message. Nothing is noted for a re-score or the nightly job, whose alerts say so by having no signal.
/// </summary>
public sealed class SignalArrivals
{
    private readonly Dictionary<string, DateTimeOffset> _oldest = new(StringComparer.Ordinal);
    private string? _signal;

    /// <summary>Notes the records' signal (their type's name) and, per student, the oldest sent time among them.</summary>
    public void Note<TRecord>(IEnumerable<(TRecord Record, DateTime? SentTime)> records, Func<TRecord, string> studentOf)
    {
        _signal = typeof(TRecord).Name;
        foreach (var (record, sentTime) in records)
        {
            if (sentTime is not { } sent)
            {
                continue;
            }
            var at = new DateTimeOffset(DateTime.SpecifyKind(sent, DateTimeKind.Utc));
            var student = studentOf(record);
            if (!_oldest.TryGetValue(student, out var known) || at < known)
            {
                _oldest[student] = at;
            }
        }
    }

    /// <summary>Writes on the alert the signal that raised it and when its oldest message about the student was sent.</summary>
    public RiskAlert Stamp(RiskAlert alert)
    {
        alert.RaisedBy = _signal;
        alert.SignalSentAt = _oldest.TryGetValue(alert.StudentId, out var at) ? at : null;
        return alert;
    }
}
