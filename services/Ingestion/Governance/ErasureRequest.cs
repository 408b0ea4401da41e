namespace Beacon.Ingestion.Governance;

/// <summary>
/// An administrator's request to erase a student. Kept (with the student id, never a name) as the record of
/// what was erased, when and by whom, and so that later rows for that id are refused.
/// </summary>
public sealed class ErasureRequest
{
    public Guid RequestId { get; set; }
    public required string StudentId { get; set; }
    public required string RequestedBy { get; set; }
    public string? Reason { get; set; }
    public DateTimeOffset RequestedAt { get; set; }
}

/// <summary>One service's confirmation of a request: when, and rows affected per table (JSON). The first confirmation is kept.</summary>
public sealed class ErasureConfirmation
{
    public Guid RequestId { get; set; }
    public required string Service { get; set; }
    public DateTimeOffset ConfirmedAt { get; set; }
    public string RowsAffected { get; set; } = "{}";
}

public sealed class GovernanceOptions
{
    /// <summary>The services whose confirmation completes an erasure (Governance:ErasureServices).</summary>
    public string[] ErasureServices { get; set; } = ["ingestion", "mastery", "early-warning", "interventions", "notifications"];
}
