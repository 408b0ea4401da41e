using Beacon.Contracts.Events;
using Beacon.Messaging;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Intake;

/// <summary>
/// Sections downstream: after a OneRoster import, every section the bundle touched (a classes.csv or enrollments.csv row,
/// or a withdrawn user's membership) is published whole as <see cref="SectionRosterRecorded"/>, so Mastery and
/// Interventions can show a teacher their own sections. A whole snapshot rather than one event per membership: a
/// consumer replaces its copy and a lost or repeated message cannot leave a membership behind.
/// </summary>
public sealed partial class OneRosterImport
{
    private sealed record TouchedSections(HashSet<string> Ids, Dictionary<string, (string SchoolId, string Title)> Before);

    /// <summary>Read before the import changes anything: an ended class is gone afterwards, and its school with it.</summary>
    private async Task<TouchedSections> SectionsTouchedAsync(Table users, Table classes, Table enrollments, CancellationToken ct)
    {
        var ids = classes.Rows.Select(r => Field(r.Row, "sourcedId")).Concat(enrollments.Rows.Select(r => Field(r.Row, "classSourcedId")))
            .OfType<string>().ToHashSet(StringComparer.Ordinal);
        var leaving = users.Rows.Where(r => IsDeleted(r.Row)).Select(r => Field(r.Row, "sourcedId")).OfType<string>().Distinct().ToList();
        if (leaving.Count > 0)
        {
            ids.UnionWith(await db.SectionEnrollments.AsNoTracking().Where(e => leaving.Contains(e.PersonId)).Select(e => e.SectionId).ToListAsync(ct));
        }
        var list = ids.ToList();
        var before = await db.Sections.AsNoTracking().Where(s => list.Contains(s.SectionId))
            .ToDictionaryAsync(s => s.SectionId, s => (s.SchoolId, s.Title), ct);
        return new TouchedSections(ids, before);
    }

    private async Task PublishSectionRostersAsync(TouchedSections touched, CancellationToken ct)
    {
        if (touched.Ids.Count == 0)
        {
            return;
        }
        var list = touched.Ids.ToList();
        var now = clock.GetUtcNow();
        var sections = await db.Sections.AsNoTracking().Where(s => list.Contains(s.SectionId)).ToDictionaryAsync(s => s.SectionId, ct);
        var members = (await db.SectionEnrollments.AsNoTracking().Where(e => list.Contains(e.SectionId)).ToListAsync(ct)).ToLookup(e => e.SectionId);
        foreach (var id in list.Order(StringComparer.Ordinal))
        {
            if (sections.TryGetValue(id, out var section))
            {
                var people = members[id].ToList();
                db.Publish(new SectionRosterRecorded(id, section.SchoolId, section.Title,
                    [.. people.Where(p => p.Role == "teacher").Select(p => p.PersonId).Order(StringComparer.Ordinal)],
                    [.. people.Where(p => p.Role == "student").Select(p => p.PersonId).Order(StringComparer.Ordinal)], Ended: false, now));
            }
            else if (touched.Before.TryGetValue(id, out var ended))
            {
                db.Publish(new SectionRosterRecorded(id, ended.SchoolId, ended.Title, [], [], Ended: true, now));
            }
            // else: a row naming a class that never made it onto the roster (already reported as a row error).
        }
        await db.SaveChangesAsync(ct);
    }
}
