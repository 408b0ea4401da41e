using System.Collections.Concurrent;
using System.Security.Claims;
using Beacon.Notifications.Storage;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Notifications.Domain;

/// <summary>Where a row of the staff projection came from; the roster (null) wins over the others.</summary>
public static class StaffSources
{
    /// <summary>Notifications:Directory: district staff (ops, administrators) no school roster lists.</summary>
    public const string Directory = "directory";

    /// <summary>The person's own token (any issuer: sub, role, name, email, school claims) on their first request.</summary>
    public const string SignIn = "sign-in";
}

/// <summary>One entry of Notifications:Directory.</summary>
public sealed class DirectoryEntry
{
    public string Id { get; set; } = "";
    public string Role { get; set; } = "";
    public string Name { get; set; } = "";
    public string Email { get; set; } = "";

    /// <summary>Mobile number for SMS (E.164 after spaces, dashes and parentheses are dropped); optional.</summary>
    public string Phone { get; set; } = "";
}

/// <summary>
/// Keeps staff who are on no school roster (ops, administrators) in the staff projection, so ops alarms have recipients:
/// from the configured directory at start, and from the claims of anyone who signs in (on their first request to this
/// service; the dashboard asks for the feed at once). A roster row is never overwritten; a directory or sign-in row
/// follows the latest claims. Works with any issuer that puts sub and role in its tokens, the development issuer included.
/// </summary>
public sealed class StaffDirectory(IServiceScopeFactory scopes, IConfiguration configuration, ILogger<StaffDirectory> logger) : IHostedService
{
    // Roles ordered by what the projection is used for: ops alarms first, then escalations, then the rest.
    private static readonly string[] PersonRoles = [Roles.Ops, Roles.Administrator, Roles.Coordinator, Roles.Counselor];
    private readonly ConcurrentDictionary<string, string> _seen = new(StringComparer.Ordinal);
    // A page's first requests arrive together: one at a time here, so they do not race to insert the same row (and log
    // constraint failures); only a caller not yet seen waits, later requests return before it.
    private readonly SemaphoreSlim _recording = new(1, 1);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var entries = configuration.GetSection("Notifications:Directory").Get<DirectoryEntry[]>() ?? [];
        foreach (var e in entries.Where(e => e.Id.Length > 0 && PersonRoles.Contains(e.Role)))
        {
            string? phone = null;
            if (PhoneNumbers.TryNormalize(e.Phone, out var e164))
            {
                phone = e164;
            }
            else if (e.Phone.Length > 0)
            {
                // The entry still counts (ops alarms reach them in the feed and by e-mail); only texts cannot.
                logger.LogError("Notifications:Directory entry '{Id}': Phone '{Phone}' is not {Rule}; no SMS to them", e.Id, e.Phone, PhoneNumbers.Rule);
            }
            await UpsertAsync(e.Id, e.Role, e.Name.Length > 0 ? e.Name : e.Id, e.Email, "", StaffSources.Directory, cancellationToken, phone);
        }
        foreach (var e in entries.Where(e => e.Id.Length == 0 || !PersonRoles.Contains(e.Role)))
        {
            logger.LogError("Notifications:Directory entry '{Id}' ignored: it needs an Id and a role among {Roles}", e.Id, string.Join(", ", PersonRoles));
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Records the caller from their token's claims, once per distinct set of claims (no database call on later requests).</summary>
    public async Task ObserveAsync(ClaimsPrincipal user, CancellationToken ct)
    {
        var id = user.UserId();
        var role = PersonRoles.FirstOrDefault(user.IsInRole);
        if (id is null || role is null)
        {
            return;   // a service or a data feed: not a person to tell
        }
        var name = user.FindFirst(BeaconClaims.Name)?.Value ?? id;
        var email = user.FindFirst("email")?.Value ?? "";
        var school = user.FindFirst(BeaconClaims.School)?.Value ?? "";
        var fingerprint = $"{role}\u001f{name}\u001f{email}\u001f{school}";
        if (_seen.TryGetValue(id, out var seen) && seen == fingerprint)
        {
            return;
        }
        await _recording.WaitAsync(ct);
        try
        {
            if (_seen.TryGetValue(id, out seen) && seen == fingerprint)
            {
                return;
            }
            // Seen only once stored: a save that failed is tried again on their next request.
            if (await UpsertAsync(id, role, name, email, school, StaffSources.SignIn, ct))
            {
                _seen[id] = fingerprint;
            }
        }
        finally
        {
            _recording.Release();
        }
    }

    /// <param name="phone">From the directory only (tokens carry none): null leaves the stored number as it is.</param>
    /// <returns>Whether the row is stored as asked (false: the save failed, and was logged).</returns>
    private async Task<bool> UpsertAsync(string id, string role, string name, string email, string school, string source, CancellationToken ct, string? phone = null)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<NotificationsDbContext>();
        var staff = await db.Staff.FindAsync([id], ct);
        if (staff is null)
        {
            db.Staff.Add(new StaffMember { StaffId = id, SchoolId = school, Role = role, Name = name, Email = email, Phone = phone, Source = source });
        }
        else if (staff.Source is null)
        {
            // On the roster: the roster says who they are; a token or the directory only fills an address or number the roster lacks.
            if (staff.Email.Length == 0 && email.Length > 0)
            {
                staff.Email = email;
            }
            staff.Phone ??= phone;
        }
        else if (source == StaffSources.SignIn || staff.Source == StaffSources.Directory)
        {
            staff.Role = role;
            staff.Name = name;
            staff.Email = email.Length > 0 ? email : staff.Email;   // a token without an address keeps the directory's
            staff.SchoolId = school.Length > 0 ? school : staff.SchoolId;
            staff.Phone = phone ?? staff.Phone;
        }
        try
        {
            await db.SaveChangesAsync(ct);
            return true;
        }
        catch (DbUpdateException e)
        {
            // Another replica may have inserted the same person a moment earlier: then the row is there, and it will
            // follow their claims on a later change. Anything else (the database away) is tried again next time.
            logger.LogWarning(e, "Staff {StaffId}: could not record them from their sign-in ({Source}); tried again on a later request", id, source);
            return false;
        }
    }
}

public static class StaffDirectoryExtensions
{
    /// <summary>Records every signed-in person who calls this service (after authentication, before the endpoint).</summary>
    public static WebApplication UseStaffFromClaims(this WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            if (context.User.Identity?.IsAuthenticated == true)
            {
                await context.RequestServices.GetRequiredService<StaffDirectory>().ObserveAsync(context.User, context.RequestAborted);
            }
            await next(context);
        });
        return app;
    }
}
