namespace Beacon.Ingestion.Domain;

/// <summary>
/// An xAPI statement as Beacon stored it (the LRS's copy): every valid statement is kept, used or not, so a
/// re-sent id can be compared (the spec's 409 on a different statement under the same id), a later voiding
/// statement can undo what it produced, and the statements Beacon could not use are counted with the reason.
/// </summary>
public sealed class XapiStatement
{
    /// <summary>The statement's UUID, lower case.</summary>
    public required string StatementId { get; set; }

    /// <summary>The statement as received, with the id the LRS gave it when it had none.</summary>
    public required string Json { get; set; }
    public required string Verb { get; set; }
    public DateTimeOffset Stored { get; set; }
    public DateTimeOffset Timestamp { get; set; }
    public required string BatchId { get; set; }

    /// <summary>The roster student the actor was mapped to, when it was.</summary>
    public string? StudentId { get; set; }

    /// <summary>What Beacon did with it: <see cref="XapiUses"/>.</summary>
    public required string Use { get; set; }

    /// <summary>Why it was not used (Use = not-used), or what a voiding statement is still waiting for.</summary>
    public string? Reason { get; set; }

    /// <summary>The answer it became (Use = answer), so voiding removes that answer.</summary>
    public string? ItemId { get; set; }
    public int? AttemptNumber { get; set; }

    /// <summary>For a voiding statement, the statement it voids.</summary>
    public string? VoidsStatementId { get; set; }
    public bool Voided { get; set; }

    /// <summary>
    /// What the statement query filters on, kept beside the JSON: when it was stored (Unix ms: SQLite cannot compare
    /// DateTimeOffset columns), its actor's most specific identifier ("kind value") and its object's id when an activity.
    /// </summary>
    public long StoredAtMs { get; set; }
    public string? ActorKey { get; set; }
    public string? ObjectId { get; set; }
}

public static class XapiUses
{
    public const string Answer = "answer";
    public const string Activity = "activity";
    public const string Voiding = "voiding";
    public const string NotUsed = "not-used";
}

/// <summary>
/// One identifier by which learning tools name a roster student (the xAPI actor map). Kinds: email (an actor's mbox),
/// mbox_sha1sum, openid, account (homePage + " " + name, uploaded), and the OneRoster user fields kept at roster load:
/// identifier, userId (users.csv userIds), username. (Kind, Value) is the key: one identifier names one student.
/// </summary>
public sealed class StudentIdentifier
{
    public required string Kind { get; set; }
    public required string Value { get; set; }
    public required string StudentId { get; set; }
    public required string Source { get; set; }
}

public static class IdentifierKinds
{
    public const string Email = "email";
    public const string MboxSha1Sum = "mbox_sha1sum";
    public const string OpenId = "openid";
    public const string Account = "account";
    public const string Identifier = "identifier";
    public const string UserId = "userId";
    public const string Username = "username";
    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal) { Email, MboxSha1Sum, OpenId, Account, Identifier, UserId, Username };
}

/// <summary>The item catalog: an item or activity id (an IRI, as learning tools name them) and the skills it practises.</summary>
public sealed class CatalogItem
{
    public required string ActivityId { get; set; }

    /// <summary>The item id answers are stored under (the catalog's, or derived from the activity id).</summary>
    public required string ItemId { get; set; }
    public required string SkillIds { get; set; }   // comma-separated
    public DateTimeOffset UpdatedAt { get; set; }
}
