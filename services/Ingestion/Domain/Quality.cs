namespace Beacon.Ingestion.Domain;

/// <summary>One received batch (a JSON body or a file). Its id makes a re-sent batch a no-op.</summary>
public sealed class IngestionBatch
{
    public required string BatchId { get; set; }
    public required string Kind { get; set; }
    public required string Source { get; set; }
    public DateOnly Day { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }
    public int Received { get; set; }
    public int Accepted { get; set; }
    public int Unchanged { get; set; }
    public int Corrected { get; set; }
    public int Rejected { get; set; }
    public int Late { get; set; }
    /// <summary>Rejected rows counted by the field at fault, as JSON ({"status": 3}).</summary>
    public string RejectedByField { get; set; } = "{}";
}

/// <summary>A rejected row kept for an operator to fix and re-submit, or discard.</summary>
public sealed class QuarantinedRow
{
    public long Id { get; set; }
    public required string Kind { get; set; }
    public required string Source { get; set; }
    public required string BatchId { get; set; }
    public required string Position { get; set; }
    public required string Raw { get; set; }
    /// <summary>"field: reason" lines.</summary>
    public required string Errors { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }
    public string Status { get; set; } = QuarantineStatuses.Open;
    public DateTimeOffset? ResolvedAt { get; set; }
}

public static class QuarantineStatuses
{
    public const string Open = "open";
    public const string Resubmitted = "resubmitted";
    public const string Discarded = "discarded";
}
