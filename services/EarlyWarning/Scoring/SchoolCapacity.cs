using Beacon.EarlyWarning.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.EarlyWarning.Scoring;

/// <summary>
/// A district's capacity per school (EarlyWarning:Models:SchoolCapacity, SchoolCapacities): a model flags at most that
/// share of a school's scored students, the highest scores first, whatever the threshold would flag. The threshold
/// still has the first word: a school with fewer students above it flags fewer, never students the model calls low
/// risk just to fill the capacity. The cap is strict (no hysteresis above it), so counselors are never handed more
/// than they said they can reach; a student at the capacity line may go in and out of the flagged set from one
/// scoring to the next (Notifications does not notify again for a re-crossing). Between rescores a signal is scored
/// against the line of the school's stored scores, so a student who rises above it is flagged the same day (one more
/// than the share until the next rescore, rather than a top-risk student held back); the nightly rescore, which
/// predicts everyone before drawing the line, brings the school back to its share. That line is not read from every
/// stored score of the school on every scored batch: each replica keeps it (<see cref="CapacityLineCache"/>) for
/// EarlyWarning:Models:CapacityLineLifetime (default 5 minutes) after it was drawn, by a rescore or from the stored scores.
/// </summary>
public sealed class SchoolCapacity(EarlyWarningDbContext db, IOptions<ModelOptions> options, CapacityLineCache cache)
{
    /// <summary>Whether any school has a cap: only then does a rescore predict everyone before it writes (two passes).</summary>
    public bool AnyShare =>
        options.Value.SchoolCapacity is > 0 and < 1 || options.Value.SchoolCapacities.Values.Any(share => share is > 0 and < 1);

    /// <summary>The share of the school a model may flag, or null without a cap.</summary>
    public double? ShareOf(string schoolId)
    {
        var share = options.Value.SchoolCapacities.TryGetValue(schoolId, out var own) ? own : options.Value.SchoolCapacity;
        return share is > 0 and < 1 ? share : null;
    }

    /// <summary>
    /// The last student still within the capacity among a school's <paramref name="scores"/>: the k-th in the order of
    /// score (highest first), then student id, k = the share of the students rounded down, at least one. Tree models
    /// give many students the same score, so the id breaks ties: the cap holds exactly. Null when every student fits.
    /// </summary>
    public static CapacityLine? LineFor(IReadOnlyCollection<(string StudentId, double Score)> scores, double share)
    {
        var k = Math.Max(1, (int)Math.Floor(share * scores.Count));
        if (k >= scores.Count)
        {
            return null;
        }
        var last = scores.OrderByDescending(s => s.Score).ThenBy(s => s.StudentId, StringComparer.Ordinal).ElementAt(k - 1);
        return new CapacityLine(last.Score, last.StudentId);
    }

    /// <summary>
    /// For one unit of scoring: each school's capacity line as this replica last drew it (within the lifetime), else from
    /// the scores Early warning holds for the school now (read once per school, then kept). A school without a cap, or
    /// small enough to fit, gets null.
    /// </summary>
    public Func<string, Task<CapacityLine?>> Lines(string kind, CancellationToken ct)
    {
        var lines = new Dictionary<string, CapacityLine?>();
        return async schoolId =>
        {
            if (lines.TryGetValue(schoolId, out var known))
            {
                return known;
            }
            CapacityLine? line = null;
            if (ShareOf(schoolId) is { } share && !cache.TryGet(kind, schoolId, out line))
            {
                var scores = await db.RiskScores.AsNoTracking().Where(s => s.Kind == kind && s.SchoolId == schoolId)
                    .Select(s => new { s.StudentId, s.Score }).ToListAsync(ct);
                line = LineFor(scores.Select(s => (s.StudentId, s.Score)).ToList(), share);
                cache.Set(kind, schoolId, line);
            }
            return lines[schoolId] = line;
        };
    }

    /// <summary>
    /// Each capped school's line from scores just predicted for all of it (a rescore of everyone), kept for this replica's
    /// scoring of later signals. Only capped schools' scores need be given.
    /// </summary>
    public IReadOnlyDictionary<string, CapacityLine?> Draw(string kind, IEnumerable<(string SchoolId, string StudentId, double Score)> scores)
    {
        var lines = new Dictionary<string, CapacityLine?>();
        foreach (var school in scores.GroupBy(s => s.SchoolId))
        {
            if (ShareOf(school.Key) is { } share)
            {
                lines[school.Key] = LineFor(school.Select(s => (s.StudentId, s.Score)).ToList(), share);
                cache.Set(kind, school.Key, lines[school.Key]);
            }
        }
        return lines;
    }
}

/// <summary>
/// Each school's capacity line as this replica last drew it, for a short time (EarlyWarning:Models:CapacityLineLifetime):
/// long enough that a steady stream of signals does not read a school's every score per batch, short enough that a
/// line drawn by another replica's rescore, or moved by the day's scores, is picked up within minutes.
/// </summary>
public sealed class CapacityLineCache(TimeProvider clock, IOptions<ModelOptions> options)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Kind, string SchoolId), (CapacityLine? Line, DateTimeOffset DrawnAt)> _lines = new();

    public bool TryGet(string kind, string schoolId, out CapacityLine? line)
    {
        line = null;
        if (!_lines.TryGetValue((kind, schoolId), out var kept) || clock.GetUtcNow() - kept.DrawnAt >= options.Value.CapacityLineLifetime)
        {
            return false;
        }
        line = kept.Line;
        return true;
    }

    public void Set(string kind, string schoolId, CapacityLine? line) => _lines[(kind, schoolId)] = (line, clock.GetUtcNow());
}

/// <summary>The last student within a school's capacity; a student is within it when ranked at or before them.</summary>
public sealed record CapacityLine(double Score, string StudentId)
{
    public bool Admits(string studentId, double score) =>
        score > Score || (score == Score && string.CompareOrdinal(studentId, StudentId) <= 0);
}
