using Microsoft.EntityFrameworkCore;

namespace Beacon.Messaging;

/// <summary>A service's copy of a class section from Ingestion's roster: its school, title and when the roster was recorded.</summary>
public sealed class SectionRoster
{
    public required string SectionId { get; set; }
    public required string SchoolId { get; set; }
    public string Title { get; set; } = "";

    /// <summary>The roster snapshot's time: an older snapshot arriving late is ignored.</summary>
    public DateTimeOffset RecordedAt { get; set; }
}

/// <summary>A teacher or a student in a section.</summary>
public sealed class SectionRosterMember
{
    public required string SectionId { get; set; }
    public required string PersonId { get; set; }

    /// <summary><c>teacher</c> or <c>student</c>.</summary>
    public required string Role { get; set; }
}

/// <summary>
/// The copy of Ingestion's section rosters (SectionRosterRecorded) that Mastery and Interventions each keep in their own
/// database: the tables are named by the context's DbSet properties, the way each service is consumed stays its own
/// consumer class (its queue's name), and the replacing is written once here.
/// </summary>
public static class SectionRosters
{
    public static ModelBuilder AddSectionRosters(this ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<SectionRoster>().HasKey(s => s.SectionId);
        modelBuilder.Entity<SectionRosterMember>().HasKey(m => new { m.SectionId, m.PersonId });
        modelBuilder.Entity<SectionRosterMember>().HasIndex(m => m.PersonId);
        return modelBuilder;
    }

    /// <summary>
    /// Applies one roster snapshot and saves: each snapshot is the whole roster, so the members are replaced; an older
    /// snapshot than the one kept is ignored (redelivery, two imports close together); an ended section is removed.
    /// A person listed twice (as teacher and student, or repeated) is kept once, as teacher first.
    /// </summary>
    public static async Task ReplaceAsync(DbContext db, string sectionId, string schoolId, string title, IEnumerable<string> teacherIds,
        IEnumerable<string> studentIds, bool ended, DateTimeOffset recordedAt, CancellationToken ct)
    {
        var sections = db.Set<SectionRoster>();
        var members = db.Set<SectionRosterMember>();
        var section = await sections.FindAsync([sectionId], ct);
        if (section is not null && section.RecordedAt > recordedAt)
        {
            return;
        }
        members.RemoveRange(await members.Where(m => m.SectionId == sectionId).ToListAsync(ct));
        if (ended)
        {
            if (section is not null)
            {
                sections.Remove(section);
            }
            await db.SaveChangesAsync(ct);
            return;
        }
        section ??= sections.Add(new SectionRoster { SectionId = sectionId, SchoolId = schoolId }).Entity;
        (section.SchoolId, section.Title, section.RecordedAt) = (schoolId, title, recordedAt);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (person, role) in teacherIds.Select(t => (t, "teacher")).Concat(studentIds.Select(s => (s, "student"))))
        {
            if (!string.IsNullOrWhiteSpace(person) && seen.Add(person))
            {
                members.Add(new SectionRosterMember { SectionId = sectionId, PersonId = person, Role = role });
            }
        }
        await db.SaveChangesAsync(ct);
    }
}
