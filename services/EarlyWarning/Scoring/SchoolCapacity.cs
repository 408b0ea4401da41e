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
/// predicts everyone before drawing the line, brings the school back to its share.
/// </summary>
public sealed class SchoolCapacity(EarlyWarningDbContext db, IOptions<ModelOptions> options)
{
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
    /// For one unit of scoring: each school's capacity line from the scores Early warning holds for it now (read once
    /// per school). A school without a cap, or small enough to fit, gets null.
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
            if (ShareOf(schoolId) is { } share)
            {
                var scores = await db.RiskScores.AsNoTracking().Where(s => s.Kind == kind && s.SchoolId == schoolId)
                    .Select(s => new { s.StudentId, s.Score }).ToListAsync(ct);
                line = LineFor(scores.Select(s => (s.StudentId, s.Score)).ToList(), share);
            }
            return lines[schoolId] = line;
        };
    }

    /// <summary>Each school's capacity line from scores just computed for all of it (a rescore of everyone).</summary>
    public Func<string, Task<CapacityLine?>> Lines(IEnumerable<(string SchoolId, string StudentId, double Score)> scores)
    {
        var lines = scores.GroupBy(s => s.SchoolId).ToDictionary(g => g.Key,
            g => ShareOf(g.Key) is { } share ? LineFor(g.Select(s => (s.StudentId, s.Score)).ToList(), share) : null);
        return schoolId => Task.FromResult(lines.GetValueOrDefault(schoolId));
    }
}

/// <summary>The last student within a school's capacity; a student is within it when ranked at or before them.</summary>
public sealed record CapacityLine(double Score, string StudentId)
{
    public bool Admits(string studentId, double score) =>
        score > Score || (score == Score && string.CompareOrdinal(studentId, StudentId) <= 0);
}
