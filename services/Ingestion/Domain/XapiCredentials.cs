namespace Beacon.Ingestion.Domain;

/// <summary>
/// A key and secret an administrator issued to one learning tool (a source), for the HTTP Basic credentials LMS xAPI
/// plugins send. Only the secret's SHA-256 is kept: the secret is 32 random bytes, so a slow hash would add nothing,
/// and it is shown once, when issued.
/// </summary>
public sealed class XapiCredential
{
    public required string Key { get; set; }
    public required string Source { get; set; }
    public required string SecretSha256 { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public string? CreatedBy { get; set; }

    /// <summary>Set when an administrator revoked it; the key then authenticates nothing.</summary>
    public DateTimeOffset? RevokedAt { get; set; }
}
