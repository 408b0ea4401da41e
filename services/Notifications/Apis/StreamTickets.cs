using System.Buffers.Text;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Beacon.Notifications.Storage;
using Beacon.ServiceDefaults;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.Notifications.Apis;

/// <summary>
/// A ticket for one live-feed connection. Only its SHA-256 is stored (the database holds nothing a reader could
/// connect with), with the staff member whose stream it opens, the user it was issued to and that user's roles.
/// Stored in the service's database, not in memory, so a ticket issued by one replica opens the stream on another.
/// </summary>
public sealed class StreamTicket
{
    public required string Hash { get; set; }
    public required string StaffId { get; set; }
    public required string UserId { get; set; }
    public string Roles { get; set; } = "";

    /// <summary>Unix milliseconds: SQLite cannot compare DateTimeOffset in SQL, and the redemption is one DELETE.</summary>
    public long ExpiresAtMs { get; set; }
}

/// <summary>
/// EventSource cannot send an Authorization header, and a bearer token in the URL ends up in access logs, proxy logs
/// and the gateway's audit log, valid for hours. Instead the dashboard asks for a ticket with its bearer token
/// (POST .../feed/stream-ticket) and opens the stream with ?ticket=: it lives 30 seconds, opens only that staff
/// member's stream, for the user it was issued to, and only once.
/// </summary>
public static class StreamTickets
{
    public const string Scheme = "stream-ticket";
    public const string QueryName = "ticket";
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(30);

    /// <summary>The stream takes a bearer token (scripts, other services) or a ticket (browsers); nothing else.</summary>
    public static AuthorizationPolicy StreamPolicy { get; } = new AuthorizationPolicyBuilder(JwtBearerDefaults.AuthenticationScheme, Scheme)
        .RequireAuthenticatedUser().Build();

    public static IHostApplicationBuilder AddStreamTickets(this IHostApplicationBuilder builder)
    {
        builder.Services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, StreamTicketHandler>(Scheme, null);
        return builder;
    }

    internal static string HashOf(string ticket) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ticket)));

    internal static async Task<IResult> IssueAsync(string staffId, HttpContext http, NotificationsDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        // Expired tickets are never redeemed; clearing them here keeps the table at the handful in flight.
        await db.StreamTickets.Where(t => t.ExpiresAtMs < now).ExecuteDeleteAsync(ct);
        var ticket = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        db.StreamTickets.Add(new StreamTicket
        {
            Hash = HashOf(ticket),
            StaffId = staffId,
            UserId = http.User.UserId() ?? "",
            Roles = string.Join(",", http.User.FindAll(BeaconClaims.Role).Select(c => c.Value)),
            ExpiresAtMs = now + (long)Lifetime.TotalMilliseconds,
        });
        await db.SaveChangesAsync(ct);
        http.Response.Headers.CacheControl = "no-store";
        return Results.Ok(new { ticket, expiresIn = (int)Lifetime.TotalSeconds });
    }
}

/// <summary>
/// Signs in the caller of a feed stream from its ticket: the ticket is deleted as it is checked (one DELETE with the
/// hash, the staff member in the path and the expiry in its condition), so a second use, or a use on another
/// staff member's stream, finds nothing.
/// </summary>
public sealed class StreamTicketHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    NotificationsDbContext db, TimeProvider clock) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Query.TryGetValue(StreamTickets.QueryName, out var values) || values.ToString() is not { Length: > 0 and <= 128 } ticket)
        {
            return AuthenticateResult.NoResult();
        }
        if (Request.RouteValues["staffId"] is not string staffId)
        {
            return AuthenticateResult.Fail("A stream ticket opens a feed stream only.");
        }
        var hash = StreamTickets.HashOf(ticket);
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var found = await db.StreamTickets.AsNoTracking().FirstOrDefaultAsync(t => t.Hash == hash, Context.RequestAborted);
        // The DELETE decides: of two connections racing with the same ticket, one deletes the row, the other none.
        var redeemed = found is not null && await db.StreamTickets
            .Where(t => t.Hash == hash && t.StaffId == staffId && t.ExpiresAtMs >= now)
            .ExecuteDeleteAsync(Context.RequestAborted) == 1;
        if (!redeemed)
        {
            return AuthenticateResult.Fail("The stream ticket is unknown, used, expired or for another stream.");
        }
        var claims = new List<Claim> { new(BeaconClaims.Subject, found!.UserId), new(BeaconClaims.Name, found.UserId) };
        claims.AddRange(found.Roles.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(r => new Claim(BeaconClaims.Role, r)));
        var identity = new ClaimsIdentity(claims, StreamTickets.Scheme, BeaconClaims.Name, BeaconClaims.Role);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), StreamTickets.Scheme));
    }
}
