namespace Beacon.Interventions.Domain;

/// <summary>
/// A parent, guardian or relative of a student, as the roster names them (OneRoster agentSourcedIds, through
/// Ingestion's StudentContactRecorded): whom a counselor calls about a case. A later record of the same contact wins.
/// </summary>
public sealed class FamilyContact
{
    public required string StudentId { get; set; }
    public required string ContactId { get; set; }
    /// <summary>parent | guardian | relative (the roster's role).</summary>
    public required string Relationship { get; set; }
    public required string GivenName { get; set; }
    public required string FamilyName { get; set; }
    public string? Email { get; set; }
    public string? Phone { get; set; }
    public string? Sms { get; set; }
    public DateTimeOffset RecordedAt { get; set; }
}
