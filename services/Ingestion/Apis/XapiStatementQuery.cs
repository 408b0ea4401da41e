using System.Globalization;
using System.Text.Json.Nodes;
using Beacon.Ingestion.Domain;
using Beacon.Ingestion.Intake;
using Beacon.Ingestion.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Beacon.Ingestion.Apis;

/// <summary>
/// The read side of the statement resource (xAPI 1.0.3, Communication part, 2.1.3): one statement by
/// <c>statementId</c> or <c>voidedStatementId</c>, or a StatementResult filtered by agent, verb, activity and
/// stored time, newest first unless <c>ascending</c>, a page at a time with a <c>more</c> link. A learning tool
/// reads back what it sent, and a reporting tool pages through everything. Not supported (400 naming them):
/// <c>registration</c> (Beacon keeps no registration column), <c>related_activities</c>/<c>related_agents</c>,
/// <c>format</c> other than <c>exact</c>, and attachments.
/// </summary>
public static class XapiStatementQuery
{
    public const int MaximumLimit = 500;

    public sealed record StatementResult(IReadOnlyList<JsonNode?> Statements, string More);

    /// <summary>The actor's most specific identifier, as the query's <c>agent</c> matches it ("kind value"); null for a group or nothing.</summary>
    public static string? ActorKey(JsonNode? actor, XapiOptions options) =>
        actor is JsonObject agent && XapiValidation.Text(agent["objectType"]) != "Group" && XapiStatements.ActorKeys(agent, options) is [var first, ..]
            ? $"{first.Kind} {first.Value}" : null;

    public static async Task<IResult> GetAsync(HttpRequest request, IngestionDbContext db, IOptions<XapiOptions> options, TimeProvider clock, CancellationToken ct)
    {
        var q = request.Query;
        request.HttpContext.Response.Headers["X-Experience-API-Consistent-Through"] = clock.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);
        var errors = new Dictionary<string, string[]>();
        void Fail(string field, string message) => errors[field] = [message];

        foreach (var unsupported in new[] { "registration", "related_activities", "related_agents" })
        {
            if (q.ContainsKey(unsupported) && !(unsupported.StartsWith("related_", StringComparison.Ordinal) && q[unsupported] == "false"))
            {
                Fail(unsupported, "is not supported by this LRS (Beacon keeps what it uses of a statement, not every relation); leave it out.");
            }
        }
        if (q.TryGetValue("format", out var format) && format != "exact")
        {
            Fail("format", $"'{Rules.Show(format)}': this LRS answers in the exact format only.");
        }
        if (q.TryGetValue("attachments", out var attachments) && attachments == "true")
        {
            Fail("attachments", "this LRS takes no attachments, so it returns none.");
        }
        var (statementId, voidedId) = (q["statementId"].ToString(), q["voidedStatementId"].ToString());
        if (statementId.Length > 0 || voidedId.Length > 0)
        {
            return errors.Count > 0 ? Problem(errors) : await OneAsync(db, statementId, voidedId, q, ct);
        }

        var query = db.XapiStatements.AsNoTracking().Where(s => !s.Voided);
        if (q.TryGetValue("agent", out var agentText))
        {
            var key = ParseObject(agentText.ToString()) is { } agent ? ActorKey(agent, options.Value) : null;
            if (key is null)
            {
                Fail("agent", "must be an Agent as JSON with one of mbox, mbox_sha1sum, openid or account (homePage and name).");
            }
            query = query.Where(s => s.ActorKey == key);
        }
        if (q.TryGetValue("verb", out var verb))
        {
            query = query.Where(s => s.Verb == verb.ToString());
        }
        if (q.TryGetValue("activity", out var activity))
        {
            query = query.Where(s => s.ObjectId == activity.ToString());
        }
        foreach (var (name, after) in new[] { ("since", true), ("until", false) })
        {
            if (!q.TryGetValue(name, out var value))
            {
                continue;
            }
            if (!DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            {
                Fail(name, $"'{Rules.Show(value)}' is not an ISO 8601 timestamp.");
                continue;
            }
            var ms = at.ToUnixTimeMilliseconds();
            query = after ? query.Where(s => s.StoredAtMs > ms) : query.Where(s => s.StoredAtMs <= ms);
        }
        var limit = MaximumLimit;
        if (q.TryGetValue("limit", out var limitText) && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 0))
        {
            Fail("limit", $"'{Rules.Show(limitText)}' is not a whole number of statements (0 = as many as the LRS gives, {MaximumLimit}).");
        }
        limit = limit is 0 or > MaximumLimit ? MaximumLimit : limit;
        var ascending = q.TryGetValue("ascending", out var asc) && asc == "true";
        if (q.TryGetValue("cursor", out var cursorText))
        {
            if (Cursor.Parse(cursorText.ToString()) is not { } cursor)
            {
                Fail("cursor", "is not a cursor this LRS gave in a 'more' link.");
            }
            else
            {
                query = ascending
                    ? query.Where(s => s.StoredAtMs > cursor.StoredAtMs || (s.StoredAtMs == cursor.StoredAtMs && string.Compare(s.StatementId, cursor.StatementId) > 0))
                    : query.Where(s => s.StoredAtMs < cursor.StoredAtMs || (s.StoredAtMs == cursor.StoredAtMs && string.Compare(s.StatementId, cursor.StatementId) < 0));
            }
        }
        if (errors.Count > 0)
        {
            return Problem(errors);
        }
        query = ascending ? query.OrderBy(s => s.StoredAtMs).ThenBy(s => s.StatementId) : query.OrderByDescending(s => s.StoredAtMs).ThenByDescending(s => s.StatementId);
        var rows = await query.Take(limit + 1).Select(s => new { s.StatementId, s.StoredAtMs, s.Json }).ToListAsync(ct);
        var page = rows.Take(limit).ToList();
        var more = rows.Count > limit
            ? $"{request.PathBase}{request.Path}?{string.Join('&', q.Where(p => p.Key != "cursor").Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value.ToString())}")
                .Append($"cursor={new Cursor(page[^1].StoredAtMs, page[^1].StatementId)}"))}"
            : "";
        return Results.Ok(new StatementResult([.. page.Select(r => JsonNode.Parse(r.Json))], more));
    }

    /// <summary>A single statement: <c>statementId</c> never returns a voided one, <c>voidedStatementId</c> only a voided one (2.1.3).</summary>
    private static async Task<IResult> OneAsync(IngestionDbContext db, string statementId, string voidedId, IQueryCollection q, CancellationToken ct)
    {
        var allowed = new[] { "statementId", "voidedStatementId", "format", "attachments" };
        if ((statementId.Length > 0 && voidedId.Length > 0) || q.Keys.Any(k => !allowed.Contains(k)))
        {
            return Problem(new Dictionary<string, string[]>
            {
                ["statementId"] = ["with statementId or voidedStatementId (one of them) only format and attachments may be sent."],
            });
        }
        var (id, voided) = statementId.Length > 0 ? (statementId, false) : (voidedId, true);
        var row = await db.XapiStatements.AsNoTracking().Where(s => s.StatementId == id.ToLowerInvariant()).Select(s => new { s.Json, s.Voided }).FirstOrDefaultAsync(ct);
        return row is null || row.Voided != voided
            ? Results.Problem(statusCode: StatusCodes.Status404NotFound, title: voided ? "No voided statement with this id" : "No statement with this id",
                detail: row is not null && !voided ? "That statement was voided: ask for it by voidedStatementId." : null)
            : Results.Text(row.Json, "application/json");
    }

    private static JsonObject? ParseObject(string text)
    {
        try
        {
            return JsonNode.Parse(text) as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;   // the caller names the parameter
        }
    }

    private static IResult Problem(Dictionary<string, string[]> errors) => Results.ValidationProblem(errors, title: "Invalid statement query");

    /// <summary>Where a page ended: its last statement's stored time and id (the order is stored time, then id).</summary>
    private sealed record Cursor(long StoredAtMs, string StatementId)
    {
        public override string ToString() => $"{StoredAtMs.ToString(CultureInfo.InvariantCulture)}.{StatementId}";

        public static Cursor? Parse(string text) =>
            text.Split('.', 2) is [var ms, var id] && long.TryParse(ms, NumberStyles.None, CultureInfo.InvariantCulture, out var at) && Guid.TryParse(id, out _)
                ? new Cursor(at, id) : null;
    }
}
