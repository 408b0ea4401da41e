using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Beacon.Bench;

/// <summary>A timed feed entry of a planted crossing: its student and reason, when its signal's batch was sent, its latency.</summary>
internal sealed record TimedEntry(string StudentId, string Family, DateTimeOffset PlantedSentAt, DateTimeOffset ArrivedAt, double LatencyMs);

/// <summary>
/// Where a timed alert's time went (issue #18 item 7): after the run each timed entry is matched with Early warning's alert
/// (the student's alert of the reason's kind raised last before the entry arrived), which says which signal's unit of work
/// raised it (<c>raisedBy</c>) and when that signal's oldest message about the student was sent (<c>signalSentAt</c>). Per
/// reason and signal: how many, their signal → feed latency, <b>lead</b> (that message sent − the planted signal's batch
/// sent: a later signal crossed the line, not a slow queue, when it is large) and <b>wait</b> (alert raised − that message
/// sent: queued, gathered and applied). The rest of the latency is the alert's way to the feed.
/// </summary>
internal static class AlertCauses
{
    private static readonly Dictionary<string, string> AlertKinds = new()
    {
        ["chronic-absence"] = "chronic-absence",
        ["behavior"] = "behavior",
        ["course-performance"] = "course-performance",
        ["dropout"] = "dropout-model",
    };

    /// <summary>The bench's signal kind behind each event Early warning consumes (a mastery estimate comes from answers).</summary>
    private static readonly Dictionary<string, string> SignalKinds = new()
    {
        ["AttendanceRecorded"] = "attendance",
        ["GradeRecorded"] = "grades",
        ["BehaviorIncidentRecorded"] = "incidents",
        ["LmsActivityRecorded"] = "lms",
        ["MasteryChanged"] = "answers",
        ["StudentMasteryChanged"] = "answers",
    };

    /// <param name="lastBatchBefore">(student, signal kind, a moment): when the bench last sent a batch of that kind holding the
    /// student, at or before the moment; null when it sent none.</param>
    /// <returns>The table, and each entry's latency from the batch that raised its alert (the planted one's when not later).</returns>
    public static async Task<(string Text, double[] FromRaisingBatch)> DescribeAsync(HttpClient http, IEnumerable<string> schools, IReadOnlyList<TimedEntry> entries,
        Func<string, string, DateTimeOffset, DateTimeOffset?> lastBatchBefore)
    {
        var alerts = new List<(string Student, string Kind, DateTimeOffset RaisedAt, string RaisedBy, DateTimeOffset? SentAt)>();
        foreach (var school in schools.Distinct())
        {
            using var response = await http.GetAsync($"/api/early-warning/v1/alerts?schoolId={Uri.EscapeDataString(school)}");
            if (!response.IsSuccessStatusCode)
            {
                return ($"alerts of {school}: HTTP {(int)response.StatusCode}", [.. entries.Select(e => e.LatencyMs)]);
            }
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            if (!body.TryGetProperty("alerts", out var list))
            {
                continue;
            }
            foreach (var a in list.EnumerateArray())
            {
                string Text(string name) => a.TryGetProperty(name, out var v) ? v.GetString() ?? "" : "";
                alerts.Add((Text("studentId"), Text("kind"), DateTimeOffset.Parse(Text("raisedAt"), CultureInfo.InvariantCulture),
                    Text("raisedBy") is { Length: > 0 } by ? by : "(a re-score, or not recorded)",
                    Text("signalSentAt") is { Length: > 0 } sent ? DateTimeOffset.Parse(sent, CultureInfo.InvariantCulture) : null));
            }
        }
        var byStudent = alerts.ToLookup(a => (a.Student, a.Kind));
        var rows = new List<(string Family, string RaisedBy, double Latency, double? Lead, double? Wait, bool Later, double FromBatch)>();
        foreach (var e in entries)
        {
            var mine = byStudent[(e.StudentId, AlertKinds[e.Family])].OrderBy(a => a.RaisedAt).ToList();
            if (mine.Count == 0)
            {
                rows.Add((e.Family, "(no alert found)", e.LatencyMs, null, null, false, e.LatencyMs));
                continue;
            }
            var alert = mine.LastOrDefault(a => a.RaisedAt <= e.ArrivedAt, mine[0]);
            // The batch that most likely raised it: the student's last batch of the signal's kind sent before its message was.
            var batch = alert.SentAt is { } sent && SignalKinds.TryGetValue(alert.RaisedBy, out var kind) ? lastBatchBefore(e.StudentId, kind, sent) : null;
            var later = batch > e.PlantedSentAt;
            rows.Add((e.Family, alert.RaisedBy, e.LatencyMs, (alert.SentAt - e.PlantedSentAt)?.TotalMilliseconds, (alert.RaisedAt - alert.SentAt)?.TotalMilliseconds,
                later, later ? (e.ArrivedAt - batch!.Value).TotalMilliseconds : e.LatencyMs));
        }
        var text = new StringBuilder("timed alerts by what raised them (Early warning's raisedBy; lead = its oldest message about the student sent - the planted\n"
            + "signal's batch sent; wait = the alert raised - that message sent; later = raised by a batch of the student's sent after the planted\n"
            + "one (its last batch of that kind before the message), whose latency from that batch is in the last column)\n"
            + "reason               raised by                   alerts  p50 ms  p95 ms  lead p50  lead p95  wait p50  wait p95  wait max  later  from batch p95\n");
        foreach (var group in rows.GroupBy(r => (r.Family, r.RaisedBy)).OrderBy(g => g.Key.Family, StringComparer.Ordinal).ThenByDescending(g => g.Count()))
        {
            double[] Sorted(IEnumerable<double?> xs) => [.. xs.OfType<double>().Order()];
            var latency = Sorted(group.Select(r => (double?)r.Latency));
            var lead = Sorted(group.Select(r => r.Lead));
            var wait = Sorted(group.Select(r => r.Wait));
            var fromBatch = Sorted(group.Select(r => (double?)r.FromBatch));
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{group.Key.Family,-20} {group.Key.RaisedBy,-27} {group.Count(),6} {BenchPlatform.P(latency, 0.5),7:F0} {BenchPlatform.P(latency, 0.95),7:F0} "
                + $"{BenchPlatform.P(lead, 0.5),9:F0} {BenchPlatform.P(lead, 0.95),9:F0} {BenchPlatform.P(wait, 0.5),9:F0} {BenchPlatform.P(wait, 0.95),9:F0} {(wait.Length > 0 ? wait[^1] : double.NaN),9:F0} "
                + $"{group.Count(r => r.Later),6} {BenchPlatform.P(fromBatch, 0.95),15:F0}");
        }
        return (text.ToString().TrimEnd(), [.. rows.Select(r => r.FromBatch)]);
    }
}
