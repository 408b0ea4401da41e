using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Security.Cryptography;
using Beacon.ServiceDefaults;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Gateway.Security;

/// <summary>One signed-in staff session: the cookie holds only <see cref="Key"/>; the provider's tokens stay here, encrypted.</summary>
public sealed class StaffSession
{
    [MaxLength(64)]
    public string Key { get; set; } = "";
    [MaxLength(256)]
    public string UserId { get; set; } = "";
    /// <summary>The authentication ticket (claims and the provider's tokens), protected by the gateway's key ring.</summary>
    public string Ticket { get; set; } = "";
    /// <summary>Unix milliseconds: when the stored access token expires (a later write must not put an older one back).</summary>
    public long AccessTokenExpiresAt { get; set; }
    /// <summary>Unix milliseconds: when the session ends however often it was renewed.</summary>
    public long EndsAt { get; set; }
    /// <summary>Bumped on every write: writers compare it, so two replicas never overwrite each other unseen.</summary>
    public long Version { get; set; }
}

/// <summary>What became of a renewal's tokens.</summary>
public enum RenewalOutcome
{
    /// <summary>They are now the session's.</summary>
    Stored,
    /// <summary>Another request already stored newer ones: use those.</summary>
    Superseded,
    /// <summary>The session was signed out meanwhile: the new refresh token was revoked.</summary>
    Ended,
}

/// <summary>
/// Server-side staff sessions (the cookie handler's <see cref="ITicketStore"/>), in the gateway's database so every
/// replica sees every session. Why not the tokens in the cookie, as before: a browser keeps whichever Set-Cookie
/// arrives last, so a slow response renewed early could put an older refresh token back in the cookie after a newer
/// one was issued, and sign-out then revoked the older one and left the provider's newest refresh token alive. Here
/// the newest tokens are the only copy; every write is compare-and-set on <see cref="StaffSession.Version"/>; an
/// older token set never replaces a newer one; sign-out deletes the row and revokes what it held; and a renewal that
/// completes after the sign-out revokes the token it just got. A copied cookie dies with the row, at once.
/// </summary>
public sealed class StaffSessionStore(IServiceScopeFactory scopes, IDataProtectionProvider protection, IProviderTokens provider,
    TimeProvider clock, ILogger<StaffSessionStore> logger) : ITicketStore
{
    /// <summary>The session's key on a retrieved ticket (in memory only): the token refresher writes back by it.</summary>
    public const string KeyItem = ".beacon.session";
    /// <summary>Refresh tokens issued to this session but never its current one (two replicas renewing at once): revoked at sign-out.</summary>
    private const string OrphansItem = ".beacon.orphaned-refresh-tokens";

    private readonly TicketDataFormat _format = new(protection.CreateProtector("Beacon.Gateway.StaffSessions.v1"));

    public async Task<string> StoreAsync(AuthenticationTicket ticket)
    {
        var key = Base64Url(RandomNumberGenerator.GetBytes(32));
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AuditDbContext>();
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        // Sessions that ended on their own (never signed out) go as new ones come: the table holds live sessions only.
        await db.StaffSessions.Where(s => s.EndsAt < now).ExecuteDeleteAsync();
        db.StaffSessions.Add(new StaffSession
        {
            Key = key,
            UserId = ticket.Principal.UserId() ?? "",
            Ticket = Protect(ticket),
            AccessTokenExpiresAt = AccessTokenExpiry(ticket),
            EndsAt = (ticket.Properties.ExpiresUtc ?? clock.GetUtcNow().AddHours(10)).ToUnixTimeMilliseconds(),
        });
        await db.SaveChangesAsync();
        return key;
    }

    public async Task<AuthenticationTicket?> RetrieveAsync(string key)
    {
        await using var scope = scopes.CreateAsyncScope();
        var row = await Find(scope, key);
        if (row is null || row.EndsAt < clock.GetUtcNow().ToUnixTimeMilliseconds() || _format.Unprotect(row.Ticket) is not { } ticket)
        {
            return null;
        }
        ticket.Properties.Items[KeyItem] = key;
        return ticket;
    }

    /// <summary>The cookie handler's renewal: the same compare-and-set as a token renewal (the refresher does its own).</summary>
    public Task RenewAsync(string key, AuthenticationTicket ticket) => ReplaceAsync(key, ticket, renewedFrom: null);

    /// <summary>Sign-out (and a session the provider refused): the row goes, and every refresh token it held is revoked.</summary>
    public async Task RemoveAsync(string key)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            await using var scope = scopes.CreateAsyncScope();
            var row = await Find(scope, key);
            if (row is null)
            {
                return;
            }
            var db = scope.ServiceProvider.GetRequiredService<AuditDbContext>();
            if (await db.StaffSessions.Where(s => s.Key == key && s.Version == row.Version).ExecuteDeleteAsync() == 0)
            {
                continue; // renewed meanwhile: delete what is there now, so its newest refresh token is the one revoked
            }
            if (_format.Unprotect(row.Ticket) is { } ticket)
            {
                foreach (var token in RefreshTokens(ticket))
                {
                    await provider.RevokeAsync(token, CancellationToken.None);
                }
            }
            return;
        }
        logger.LogWarning("A staff session kept changing while it was signed out: it was not removed");
    }

    /// <summary>
    /// Stores a renewal's tokens unless newer ones are stored already. <paramref name="renewedFrom"/>: the refresh token
    /// the provider just redeemed for these tokens (null: not a renewal). A renewal's refresh token is this write's
    /// alone: if the session is gone it is revoked at once; if newer tokens are stored it is kept with them, to be
    /// revoked at sign-out. Likewise a stored refresh token that another replica got from the same redemption.
    /// </summary>
    public async Task<(RenewalOutcome Outcome, AuthenticationTicket? Current)> ReplaceAsync(string key, AuthenticationTicket renewed, string? renewedFrom)
    {
        var issuedNow = renewedFrom is not null;
        var expiry = AccessTokenExpiry(renewed);
        var newToken = renewed.Properties.GetTokenValue("refresh_token");
        for (var attempt = 0; attempt < 20; attempt++)
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<AuditDbContext>();
            var row = await Find(scope, key);
            if (row is null)
            {
                if (issuedNow && newToken is not null)
                {
                    await provider.RevokeAsync(newToken, CancellationToken.None);
                }
                return (RenewalOutcome.Ended, null);
            }
            var stored = _format.Unprotect(row.Ticket);
            if (stored is not null && (row.AccessTokenExpiresAt > expiry || stored.Properties.GetTokenValue("refresh_token") == newToken))
            {
                if (!issuedNow || newToken is null || stored.Properties.GetTokenValue("refresh_token") == newToken)
                {
                    return (RenewalOutcome.Superseded, stored);
                }
                stored.Properties.Items[OrphansItem] = string.Join(' ', Orphans(stored).Append(newToken));
                renewed = stored;
            }
            else if (stored is not null)
            {
                // Ours replace the stored ones: keep what sign-out must still revoke.
                var orphans = Orphans(stored).ToList();
                if (issuedNow && stored.Properties.GetTokenValue("refresh_token") is { } previous && previous != renewedFrom)
                {
                    orphans.Add(previous);
                }
                if (orphans.Count > 0)
                {
                    renewed.Properties.Items[OrphansItem] = string.Join(' ', orphans);
                }
            }
            var ticket = Protect(renewed);
            var newExpiry = Math.Max(expiry, row.AccessTokenExpiresAt);
            var written = await db.StaffSessions.Where(s => s.Key == key && s.Version == row.Version).ExecuteUpdateAsync(s => s
                .SetProperty(x => x.Ticket, ticket)
                .SetProperty(x => x.AccessTokenExpiresAt, newExpiry)
                .SetProperty(x => x.Version, row.Version + 1));
            if (written == 1)
            {
                return ReferenceEquals(renewed, stored) ? (RenewalOutcome.Superseded, stored) : (RenewalOutcome.Stored, renewed);
            }
        }
        // Not stored anywhere, so nothing would revoke it at sign-out: revoke it now.
        logger.LogWarning("A staff session kept changing while its renewed tokens were stored: kept the stored ones, revoked the new refresh token");
        if (issuedNow && newToken is not null)
        {
            await provider.RevokeAsync(newToken, CancellationToken.None);
        }
        return (RenewalOutcome.Superseded, await RetrieveAsync(key));
    }

    private static Task<StaffSession?> Find(AsyncServiceScope scope, string key) =>
        scope.ServiceProvider.GetRequiredService<AuditDbContext>().StaffSessions.AsNoTracking().SingleOrDefaultAsync(s => s.Key == key);

    private string Protect(AuthenticationTicket ticket)
    {
        // The key is where the ticket is kept, not part of it.
        var properties = ticket.Properties.Clone();
        properties.Items.Remove(KeyItem);
        return _format.Protect(new AuthenticationTicket(ticket.Principal, properties, ticket.AuthenticationScheme));
    }

    private static IEnumerable<string> Orphans(AuthenticationTicket ticket) =>
        ticket.Properties.Items.TryGetValue(OrphansItem, out var value) && value is { Length: > 0 } ? value.Split(' ') : [];

    private static IEnumerable<string> RefreshTokens(AuthenticationTicket ticket) =>
        (ticket.Properties.GetTokenValue("refresh_token") is { } current ? [current] : Array.Empty<string>()).Concat(Orphans(ticket)).Distinct(StringComparer.Ordinal);

    internal static long AccessTokenExpiry(AuthenticationTicket ticket) =>
        DateTimeOffset.TryParse(ticket.Properties.GetTokenValue("expires_at"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at.ToUnixTimeMilliseconds() : 0;

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
