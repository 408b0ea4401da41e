using System.Text.RegularExpressions;
using Beacon.Governance;
using Beacon.ServiceDefaults;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Gateway.Security;

/// <summary>One read of student records: who, what, when and why (the caller's stated purpose).</summary>
public sealed class AuditEntry
{
    public long Id { get; set; }
    public DateTimeOffset At { get; set; }
    public required string UserId { get; set; }
    public required string Roles { get; set; }
    public required string Method { get; set; }
    public required string Path { get; set; }
    public string? Query { get; set; }
    public string? StudentId { get; set; }
    public string? CaseId { get; set; }
    public string? Purpose { get; set; }
    public int StatusCode { get; set; }
    public string? CorrelationId { get; set; }
}

/// <summary>The gateway's database: the audit log, the staff sessions, and the key ring that encrypts them and their cookies (shared by every replica).</summary>
public sealed class AuditDbContext(DbContextOptions<AuditDbContext> options) : DbContext(options), IDataProtectionKeyContext
{
    public DbSet<AuditEntry> Entries => Set<AuditEntry>();
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();
    public DbSet<StaffSession> StaffSessions => Set<StaffSession>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        var entry = modelBuilder.Entity<AuditEntry>();
        entry.HasIndex(e => e.StudentId);
        entry.HasIndex(e => e.UserId);
        entry.HasIndex(e => e.At);
        var session = modelBuilder.Entity<StaffSession>();
        session.HasKey(s => s.Key);
        session.HasIndex(s => s.EndsAt);
    }
}

public sealed record AuditEntryDto(long Id, DateTimeOffset At, string UserId, string Roles, string Method, string Path, string? Query,
    string? StudentId, string? CaseId, string? Purpose, int StatusCode, string? CorrelationId);

/// <summary>
/// The gateway records every request that reads student records (FERPA: who looked at which student,
/// when and why). The purpose comes from the <c>X-Access-Purpose</c> header. Denied attempts are kept
/// too, with their status code. The entry is written before the response completes, so a read is never
/// served without its record.
/// </summary>
public static partial class Audit
{
    public const string PurposeHeader = "X-Access-Purpose";

    // Student-record reads across the services: a student's own pages, a search of the roster by name (its words are the
    // query kept), cases, caseloads, feeds, alert lists, the data-quality download (it lists students without attendance),
    // the analyst profile (every student of a year, by name).
    [GeneratedRegex(@"^/api/[a-z-]+/v1/(students(/(?<student>[^/]+))?|cases(/(?<case>[^/]+))?|caseloads|alerts|risks|staff/[^/]+/feed|schools/[^/]+/overview|data-quality/export|research/profiles)(/|$)")]
    private static partial Regex StudentRecordPath();

    // gRPC reads of student data go through the HTTP/2 port; the method names them.
    [GeneratedRegex(@"^/beacon\.[a-z]+\.v1\.[A-Za-z]+/(Get|List)[A-Za-z]*$")]
    private static partial Regex GrpcRead();

    /// <summary>Retention:AuditEntries (by entry time); unset keeps the log forever.</summary>
    public const string RetentionKind = "AuditEntries";

    public static IHostApplicationBuilder AddAudit(this IHostApplicationBuilder builder)
    {
        builder.AddServiceDatabase<AuditDbContext>("gateway-audit");
        // FERPA (34 CFR § 99.32) wants the record of disclosures kept as long as the records it is about: unset
        // by default, so a district shortens it only deliberately.
        builder.AddRetention(new RetentionRule(RetentionKind, (sp, cutoff, ct) =>
            sp.GetRequiredService<AuditDbContext>().DeleteOlderThanAsync<AuditEntry>(e => e.At, cutoff, ct)));
        return builder;
    }

    public static WebApplication UseAudit(this WebApplication app)
    {
        app.Use((http, next) =>
        {
            var path = http.Request.Path.Value ?? "";
            var match = HttpMethods.IsGet(http.Request.Method) ? StudentRecordPath().Match(path) : Match.Empty;
            // A live-feed ticket is asked for with the bearer token (the stream itself opens with the ticket alone):
            // that request is the one that says who opened the feed. A research extract is a disclosure of a whole year.
            var audited = match.Success || (HttpMethods.IsPost(http.Request.Method)
                && (GrpcRead().IsMatch(path) || path.EndsWith("/feed/stream-ticket", StringComparison.Ordinal) || path.EndsWith("/research/extracts", StringComparison.Ordinal)));
            if (!audited)
            {
                return next(http);
            }
            http.Response.OnStarting(async () =>
            {
                var db = http.RequestServices.GetRequiredService<AuditDbContext>();
                var user = http.User;
                db.Entries.Add(new AuditEntry
                {
                    At = DateTimeOffset.UtcNow,
                    UserId = user.UserId() ?? "anonymous",
                    Roles = string.Join(",", user.FindAll(BeaconClaims.Role).Select(c => c.Value)),
                    Method = http.Request.Method,
                    Path = Truncate(CredentialRedaction.Redact(path), 512)!,
                    // Never a credential at rest: ?access_token=, ?ticket=, ?code= and the like are masked.
                    Query = Truncate(CredentialRedaction.RedactOrNull(http.Request.QueryString.Value), 512),
                    StudentId = match.Success && match.Groups["student"].Success ? Truncate(match.Groups["student"].Value, 128) : null,
                    CaseId = match.Success && match.Groups["case"].Success ? Truncate(match.Groups["case"].Value, 128) : null,
                    Purpose = Truncate(CredentialRedaction.Redact(http.Request.Headers[PurposeHeader].ToString()), 256) is { Length: > 0 } p ? p : null,
                    StatusCode = http.Response.StatusCode,
                    CorrelationId = http.Request.Headers[Correlation.Header].ToString(),
                });
                await db.SaveChangesAsync(http.RequestAborted);
            });
            return next(http);
        });
        return app;
    }

    public static WebApplication MapAuditEndpoints(this WebApplication app)
    {
        app.MapGet("/api/audit/v1/entries", async (string? studentId, string? userId, DateTimeOffset? from, DateTimeOffset? to, int? take,
            AuditDbContext db, CancellationToken ct) =>
        {
            var query = db.Entries.AsNoTracking();
            if (!string.IsNullOrEmpty(studentId))
            {
                query = query.Where(e => e.StudentId == studentId);
            }
            if (!string.IsNullOrEmpty(userId))
            {
                query = query.Where(e => e.UserId == userId);
            }
            // SQLite cannot compare DateTimeOffset in SQL; ids grow with time, so filter after ordering.
            var entries = await query.OrderByDescending(e => e.Id).Take(Math.Clamp(take ?? 200, 1, 5000)).ToListAsync(ct);
            return Results.Ok(entries
                .Where(e => (from is null || e.At >= from) && (to is null || e.At <= to))
                .Select(e => new AuditEntryDto(e.Id, e.At, e.UserId, e.Roles, e.Method, e.Path, e.Query, e.StudentId, e.CaseId,
                    e.Purpose, e.StatusCode, e.CorrelationId)));
        }).RequireAuthorization(Policies.Administrators);
        app.MapRetentionEndpoint("/api/audit/v1");
        return app;
    }

    private static string? Truncate(string? value, int max) => value is null || value.Length <= max ? value : value[..max];
}
