namespace Beacon.Mastery.Storage;

/// <summary>Projection of Ingestion's sections (SectionRosterRecorded): a class, its school, and when its roster was recorded.</summary>
public sealed class ClassSection
{
    public required string SectionId { get; set; }
    public required string SchoolId { get; set; }
    public string Title { get; set; } = "";

    /// <summary>The roster snapshot's time: an older snapshot arriving late is ignored.</summary>
    public DateTimeOffset RecordedAt { get; set; }
}

/// <summary>A teacher or a student in a section.</summary>
public sealed class SectionMember
{
    public required string SectionId { get; set; }
    public required string PersonId { get; set; }

    /// <summary><c>teacher</c> or <c>student</c>.</summary>
    public required string Role { get; set; }
}
