using System.Text.Json;
using Beacon.Governance;
using Beacon.Ingestion.Apis;
using Beacon.Ingestion.Storage;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.Ingestion.Governance;

public static class GovernanceEndpoints
{
    public sealed record ErasureBody(string? Reason);

    public sealed record ErasureAccepted(Guid RequestId, string StudentId, DateTimeOffset RequestedAt, IReadOnlyDictionary<string, int> RowsAffected);

    public sealed record ServiceConfirmation(string Service, string Status, DateTimeOffset? ConfirmedAt, IReadOnlyDictionary<string, int>? RowsAffected);

    public sealed record ErasureReport(Guid RequestId, string StudentId, string RequestedBy, string? Reason, DateTimeOffset RequestedAt, bool Complete,
        IReadOnlyList<ServiceConfirmation> Services);

    public const int MaxReasonLength = 1000;

    public static IEndpointRouteBuilder MapGovernanceEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/ingestion/v1").RequireAuthorization(Policies.Administrators);
        api.MapPost("/students/{studentId}/erasure", EraseAsync);
        api.MapGet("/erasures/{requestId:guid}", GetAsync);
        api.MapGet("/erasures", ListAsync);
        app.MapRetentionEndpoint("/api/ingestion/v1");
        return app;
    }

    private static async Task<IResult> EraseAsync(string studentId, HttpRequest request, HttpContext http, IngestionErasure erasure, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(studentId) || studentId.Length > 200)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["studentId"] = ["must be 1 to 200 characters."] });
        }
        string? reason = null;
        if (request.ContentLength is > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            var (body, problem) = await JsonBody.ReadAsync<ErasureBody>(request, ct);
            if (body is null)
            {
                return problem!;
            }
            if (body.Reason is { Length: > MaxReasonLength })
            {
                return Results.ValidationProblem(new Dictionary<string, string[]> { ["reason"] = [$"must be at most {MaxReasonLength} characters."] });
            }
            reason = body.Reason;
        }
        var by = http.User.UserId() ?? "unknown";
        var (saved, rows) = await erasure.EraseAsync(studentId, by, reason, ct);
        return Results.Accepted($"/api/ingestion/v1/erasures/{saved.RequestId}", new ErasureAccepted(saved.RequestId, studentId, saved.RequestedAt, rows));
    }

    private static async Task<IResult> GetAsync(Guid requestId, IngestionDbContext db, IOptions<GovernanceOptions> options, CancellationToken ct)
    {
        var request = await db.ErasureRequests.AsNoTracking().FirstOrDefaultAsync(r => r.RequestId == requestId, ct);
        if (request is null)
        {
            return Results.Problem(statusCode: 404, title: $"Erasure request {requestId} does not exist.");
        }
        var confirmations = await db.ErasureConfirmations.AsNoTracking().Where(c => c.RequestId == requestId).ToListAsync(ct);
        return Results.Ok(Report(request, confirmations, options.Value));
    }

    private static async Task<IResult> ListAsync(IngestionDbContext db, IOptions<GovernanceOptions> options, int? limit, CancellationToken ct)
    {
        // Newest first; ordered in memory because SQLite cannot order by DateTimeOffset.
        var requests = (await db.ErasureRequests.AsNoTracking().ToListAsync(ct)).OrderByDescending(r => r.RequestedAt).Take(Math.Clamp(limit ?? 100, 1, 1000)).ToList();
        var ids = requests.Select(r => r.RequestId).ToList();
        var confirmations = (await db.ErasureConfirmations.AsNoTracking().Where(c => ids.Contains(c.RequestId)).ToListAsync(ct)).ToLookup(c => c.RequestId);
        return Results.Ok(requests.Select(r => Report(r, confirmations[r.RequestId].ToList(), options.Value)));
    }

    private static ErasureReport Report(ErasureRequest request, List<ErasureConfirmation> confirmations, GovernanceOptions options)
    {
        var services = options.ErasureServices.Select(service => confirmations.FirstOrDefault(c => c.Service == service) is { } c
            ? new ServiceConfirmation(service, "confirmed", c.ConfirmedAt, JsonSerializer.Deserialize<Dictionary<string, int>>(c.RowsAffected))
            : new ServiceConfirmation(service, "pending", null, null)).ToList();
        return new ErasureReport(request.RequestId, request.StudentId, request.RequestedBy, request.Reason, request.RequestedAt,
            services.All(s => s.Status == "confirmed"), services);
    }
}
