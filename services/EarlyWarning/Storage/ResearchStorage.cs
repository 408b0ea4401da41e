namespace Beacon.EarlyWarning.Storage;

/// <summary>
/// The roster's latest word on a student (from StudentEnrolled): name, school and grade level. Early warning needs none of it
/// to score; the analyst profile names its students and the research extract generalizes the grade. Erased with the student.
/// </summary>
public sealed class StudentRosterRow
{
    public required string StudentId { get; set; }
    public required string SchoolId { get; set; }
    public required string GivenName { get; set; }
    public required string FamilyName { get; set; }
    public required string GradeLevel { get; set; }
    public DateTimeOffset OccurredAt { get; set; }
}

/// <summary>
/// The audit record of one research extract: who asked, when, why, for whom, and what protection it was given. No student
/// data and never the key: the key's fingerprint says which key made the pseudonyms, so extracts made with one key can be told apart.
/// </summary>
public sealed class ResearchExtractRow
{
    public Guid ExtractId { get; set; }
    public required string RequestedBy { get; set; }
    public DateTimeOffset RequestedAt { get; set; }
    public required string Purpose { get; set; }
    public required string Recipient { get; set; }
    public required string SchoolYear { get; set; }
    public required string Format { get; set; }
    public int K { get; set; }
    /// <summary>Rows released (one per student of the year).</summary>
    public int Rows { get; set; }
    /// <summary>Rows left out because their quasi-identifiers still matched fewer than K students after generalizing.</summary>
    public int Suppressed { get; set; }
    /// <summary>The generalization steps applied, in order (JSON array of strings).</summary>
    public required string GeneralizationsJson { get; set; }
    /// <summary>The fewest released rows sharing one combination of quasi-identifiers (at least K, or 0 when none are released).</summary>
    public int SmallestClass { get; set; }
    public int SmallCellThreshold { get; set; }
    public int DateShiftDays { get; set; }
    public required string KeyFingerprint { get; set; }
    /// <summary>SHA-256 of the data file handed over, so a file found later can be matched to its record.</summary>
    public required string FileSha256 { get; set; }
}
