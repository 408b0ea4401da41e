namespace Beacon.Interventions.Domain;

/// <summary>An outreach case for one student: opened from an alert (or by hand), assigned, closed with an outcome.</summary>
public sealed class InterventionCase
{
    public Guid CaseId { get; set; }
    public required string StudentId { get; set; }
    public required string SchoolId { get; set; }
    public string Status { get; set; } = CaseStatuses.Open;
    public required string Reason { get; set; }
    public string? AssignedTo { get; set; }
    public DateTimeOffset OpenedAt { get; set; }
    public List<CaseAlert> Alerts { get; set; } = [];
}

/// <summary>Links an alert to the case it opened or joined; the alert id is the key, so each alert is handled once.</summary>
public sealed class CaseAlert
{
    public Guid AlertId { get; set; }
    public Guid CaseId { get; set; }
    public required string Kind { get; set; }
    public DateTimeOffset RaisedAt { get; set; }
}

public static class CaseStatuses
{
    public const string Open = "open";
    public const string Assigned = "assigned";
    public const string Closed = "closed";
    // An array (not a set) so EF Core can translate Contains into SQL IN.
    public static readonly string[] Active = [Open, Assigned];
}
