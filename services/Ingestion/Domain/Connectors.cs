namespace Beacon.Ingestion.Domain;

/// <summary>
/// A OneRoster REST connector's memory: the high-water mark the next pull filters from (the newest dateLastModified
/// of the last pull that was applied whole) and what its last run did, for ops.
/// </summary>
public sealed class RosterConnectorState
{
    public required string Connector { get; set; }

    /// <summary>Null until a pull succeeds: the first pull is a full one.</summary>
    public DateTimeOffset? HighWaterMark { get; set; }
    public DateTimeOffset? LastStartedAt { get; set; }
    public DateTimeOffset? LastFinishedAt { get; set; }
    public DateTimeOffset? LastSucceededAt { get; set; }
    public string LastOutcome { get; set; } = "not run yet";

    /// <summary>The failed run's reason; null after a run that succeeded.</summary>
    public string? LastError { get; set; }

    /// <summary>The filter the last run sent (null: a full pull).</summary>
    public string? LastFilter { get; set; }

    /// <summary>Records fetched per collection, as JSON ({"users": 120}).</summary>
    public string LastFetched { get; set; } = "{}";

    /// <summary>The last applied pull's batch summary, as JSON; null before the first.</summary>
    public string? LastSummary { get; set; }

    /// <summary>The last applied pull's row errors (position.field → reasons, the first rows only; all are quarantined), as JSON.</summary>
    public string LastRowErrors { get; set; } = "{}";
}
