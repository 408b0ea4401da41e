using System.Globalization;
using Beacon.Ingestion.Domain;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Intake;

/// <summary>
/// dateLastModified orders a record's changes: a row older than the last one applied for the same record (collection and
/// sourcedId) is not applied, so a delta sent late or twice cannot undo a newer change (a name put back, a deleted user
/// brought back, an enrollment ended again). A row as old as the stored one is applied (a resend changes nothing). A row
/// without a readable dateLastModified is applied and sets no mark. Stale rows are counted in the answer (<c>stale</c>),
/// and a bulk file's stale rows still count as listed there (OneRosterBulk.cs ends only what a file does not name).
/// </summary>
public sealed partial class OneRosterImport
{
    private static readonly string[] OrderedFiles = ["orgs", "users", "roles", "classes", "enrollments", "demographics", "academicSessions"];

    private static string CollectionOf(Table table) => Path.GetFileNameWithoutExtension(table.File);

    private static DateTimeOffset? LastModified(Dictionary<string, string> row) =>
        Field(row, "dateLastModified") is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at) ? at : null;

    /// <summary>The tables without their stale rows, and how many were left out.</summary>
    private async Task<(Dictionary<string, Table> Files, int Stale)> WithoutStaleRowsAsync(IReadOnlyDictionary<string, Table> received, CancellationToken ct)
    {
        var files = new Dictionary<string, Table>(received, StringComparer.OrdinalIgnoreCase);
        var stale = 0;
        foreach (var (name, table) in received)
        {
            var collection = CollectionOf(table);
            if (!OrderedFiles.Contains(collection))
            {
                continue;
            }
            var ids = table.Rows.Select(r => Field(r.Row, "sourcedId")).OfType<string>().Distinct().ToList();
            if (ids.Count == 0)
            {
                continue;
            }
            var stored = await db.OneRosterVersions.AsNoTracking().Where(v => v.Collection == collection && ids.Contains(v.SourcedId))
                .ToDictionaryAsync(v => v.SourcedId, v => v.LastModified, ct);
            if (stored.Count == 0)
            {
                continue;
            }
            bool IsStale(Dictionary<string, string> row) =>
                Field(row, "sourcedId") is { } id && stored.TryGetValue(id, out var mark) && LastModified(row) is { } at && at < mark;
            var kept = table.Rows.Where(r => !IsStale(r.Row)).ToList();
            stale += table.Rows.Count - kept.Count;
            files[name] = table with { Rows = kept };
        }
        return (files, stale);
    }

    /// <summary>After the bundle is applied: each record's newest dateLastModified becomes its mark.</summary>
    private async Task RecordVersionsAsync(IReadOnlyDictionary<string, Table> applied, CancellationToken ct)
    {
        foreach (var table in applied.Values.Where(t => OrderedFiles.Contains(CollectionOf(t))))
        {
            var collection = CollectionOf(table);
            var newest = table.Rows.Where(r => !IsMissingFromBulk(r.Row))
                .Select(r => (Id: Field(r.Row, "sourcedId"), At: LastModified(r.Row)))
                .Where(x => x.Id is not null && x.At is not null)
                .GroupBy(x => x.Id!).ToDictionary(g => g.Key, g => g.Max(x => x.At!.Value));
            if (newest.Count == 0)
            {
                continue;
            }
            var ids = newest.Keys.ToList();
            var stored = await db.OneRosterVersions.Where(v => v.Collection == collection && ids.Contains(v.SourcedId)).ToDictionaryAsync(v => v.SourcedId, ct);
            foreach (var (id, at) in newest)
            {
                if (stored.TryGetValue(id, out var mark))
                {
                    mark.LastModified = at > mark.LastModified ? at : mark.LastModified;
                }
                else
                {
                    db.OneRosterVersions.Add(new OneRosterRecordVersion { Collection = collection, SourcedId = id, LastModified = at });
                }
            }
        }
        await db.SaveChangesAsync(ct);
    }
}
