using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Beacon.Ingestion.Domain;
using Beacon.Ingestion.Intake;
using Beacon.Ingestion.Storage;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Apis;

/// <summary>
/// Beacon as an LRS for learning tools (xAPI 1.0.3 statement resource: POST and PUT), and the two tables that let
/// standard statements through without anything Beacon-specific in them: the item catalog (activity → skills) and
/// the identifier map (actor → roster student).
/// </summary>
public static class XapiApi
{
    public const string Version = "1.0.3";
    public const string VersionHeader = "X-Experience-API-Version";

    public sealed record UsageCount(string Use, string? Reason, int Statements);

    /// <summary>The about resource: <c>version</c> lists the xAPI versions spoken.</summary>
    public sealed record About(IReadOnlyList<string> Version);

    public static IEndpointRouteBuilder MapXapiApi(this IEndpointRouteBuilder app)
    {
        var feeds = app.MapGroup("/api/ingestion/v1/xapi").RequireAuthorization(Policies.Feeds).WithTags("xAPI");
        // The statement resource also takes the HTTP Basic keys administrators issue (XapiBasic), what LMS plugins send.
        var statements = app.MapGroup("/api/ingestion/v1/xapi").RequireAuthorization(XapiBasic.Policy).WithTags("xAPI");
        statements.MapPost("/statements", PostAsync).AddEndpointFilter(VersionFilterAsync);
        statements.MapPut("/statements", PutAsync).AddEndpointFilter(VersionFilterAsync);
        statements.MapGet("/statements", XapiStatementQuery.GetAsync).AddEndpointFilter(VersionFilterAsync).WithName("XapiGetStatements")
            .WithSummary("One statement by statementId or voidedStatementId, or a StatementResult by agent, verb, activity, since, until, limit, ascending; 'more' pages on")
            .Produces<XapiStatementQuery.StatementResult>();
        // The about resource tells a client which versions the LRS speaks before it authenticates (Communication part, 2.8).
        app.MapGet("/api/ingestion/v1/xapi/about", (HttpResponse response) =>
            {
                response.Headers[VersionHeader] = Version;
                return Results.Ok(new About([Version]));
            }).AllowAnonymous().WithTags("xAPI").WithName("XapiAbout")
            .WithSummary("The xAPI versions this LRS speaks").WithDescription("Open to anyone: a learning tool asks before it authenticates (xAPI 1.0.3, Communication part, 2.8).")
            .Produces<About>();
        feeds.MapPost("/item-catalog", PostCatalogAsync).DisableAntiforgery();
        feeds.MapPost("/identifiers", PostIdentifiersAsync).DisableAntiforgery();
        // Counts and reasons only, no statement content: ops may see them.
        app.MapGet("/api/ingestion/v1/xapi/usage", UsageAsync).RequireAuthorization(Policies.Ops).WithTags("xAPI");
        return app;
    }

    /// <summary>Every answer carries the version the LRS speaks; a request must name a 1.0.x version (Communication part, 3.3).</summary>
    private static async ValueTask<object?> VersionFilterAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        http.Response.Headers[VersionHeader] = Version;
        var asked = http.Request.Headers[VersionHeader].ToString();
        if (asked != "1.0" && !asked.StartsWith("1.0.", StringComparison.Ordinal))
        {
            return Results.ValidationProblem(new Dictionary<string, string[]>
            {
                [VersionHeader] = [asked.Length == 0
                    ? $"is required: this LRS speaks xAPI {Version} (send {VersionHeader}: {Version})."
                    : $"'{Rules.Show(asked)}' is not a version this LRS speaks; send 1.0.x (it answers as {Version})."],
            }, title: "Missing or unsupported xAPI version; nothing was stored");
        }
        return await next(context);
    }

    /// <summary>One statement or an array of them; the answer is the array of their ids, in order (200).</summary>
    private static async Task<IResult> PostAsync(HttpRequest request, XapiRecorder recorder, CancellationToken ct)
    {
        var (body, problem) = await ReadAsync(request, ct);
        if (body is null)
        {
            return problem!;
        }
        var list = body is JsonArray array ? array.ToList() : [body];
        if (list.Count > IntakeApi.MaxJsonRows)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]>
            {
                ["statements"] = [$"{list.Count} statements is more than {IntakeApi.MaxJsonRows} in one request; split it."],
            }, title: "Batch too large; nothing was stored");
        }
        var outcome = await recorder.RecordAsync(list, "statements", single: false, Source(request), ct);
        return Answer(request, outcome) ?? Results.Ok(outcome.Ids);
    }

    /// <summary>One statement under the id in ?statementId= (the body's id, if any, must be the same); 204 when stored.</summary>
    private static async Task<IResult> PutAsync(HttpRequest request, XapiRecorder recorder, string? statementId, CancellationToken ct)
    {
        if (!Guid.TryParseExact(statementId ?? "", "D", out _))
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["statementId"] = [$"'{Rules.Show(statementId)}' is not a UUID; PUT names the statement's id."] },
                title: "Missing or invalid statementId; nothing was stored");
        }
        var (body, problem) = await ReadAsync(request, ct);
        if (body is null)
        {
            return problem!;
        }
        if (body is JsonObject statement)
        {
            if (XapiValidation.Text(statement["id"]) is { } id && !string.Equals(id, statementId, StringComparison.OrdinalIgnoreCase))
            {
                return Results.ValidationProblem(new Dictionary<string, string[]> { ["statement.id"] = [$"'{Rules.Show(id)}' is not the statementId of the request ({statementId})."] },
                    title: "Statement id and statementId differ; nothing was stored");
            }
            statement["id"] = statementId;
        }
        var outcome = await recorder.RecordAsync([body], "statement", single: true, Source(request), ct);
        return Answer(request, outcome) ?? Results.NoContent();
    }

    private static async Task<(JsonNode? Body, IResult? Problem)> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.ContentType?.StartsWith("multipart/", StringComparison.OrdinalIgnoreCase) == true)
        {
            return (null, Results.ValidationProblem(new Dictionary<string, string[]>
            {
                ["Content-Type"] = ["statements with attachments (multipart/mixed) are not taken; send the statements as application/json."],
            }, title: "Attachments are not supported; nothing was stored"));
        }
        IntakeApi.SetBodyLimit(request, IntakeApi.MaxJsonBytes);
        return await JsonBody.ReadAsync<JsonNode>(request, ct);
    }

    /// <summary>The refusals (400 with every problem, 409 on a conflicting id), or null when stored; the batch id names the statements for /xapi/usage.</summary>
    private static IResult? Answer(HttpRequest request, XapiOutcome outcome)
    {
        request.HttpContext.Response.Headers["X-Beacon-Batch-Id"] = outcome.BatchId;
        if (outcome.Errors is { } errors)
        {
            return Results.ValidationProblem(errors, title: "Invalid xAPI statement(s); the batch was not stored",
                detail: "An LRS stores a batch whole or not at all (xAPI 1.0.3): fix every statement listed and send the batch again.");
        }
        if (outcome.Conflict is { } conflict)
        {
            return Results.Problem(title: "Statement id already used for a different statement", detail: conflict, statusCode: StatusCodes.Status409Conflict);
        }
        request.HttpContext.Response.Headers["X-Beacon-Not-Used"] = outcome.NotUsed.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return null;
    }

    /// <summary>What became of stored statements: counts by use and, for those not used, by reason (one batch, or since a time).</summary>
    private static async Task<IResult> UsageAsync(IngestionDbContext db, string? batchId, DateTimeOffset? since, CancellationToken ct)
    {
        var query = db.XapiStatements.AsNoTracking();
        query = batchId is not null ? query.Where(s => s.BatchId == batchId) : query;
        if (since is { } from)
        {
            // Compared in memory: SQLite cannot order DateTimeOffset columns.
            var rows = await query.Select(s => new { s.Use, s.Reason, s.Stored }).ToListAsync(ct);
            return Results.Ok(rows.Where(r => r.Stored >= from).GroupBy(r => (r.Use, r.Reason))
                .Select(g => new UsageCount(g.Key.Use, g.Key.Reason, g.Count())).OrderByDescending(u => u.Statements).ToList());
        }
        var counts = await query.GroupBy(s => new { s.Use, s.Reason }).Select(g => new UsageCount(g.Key.Use, g.Key.Reason, g.Count())).ToListAsync(ct);
        return Results.Ok(counts.OrderByDescending(u => u.Statements).ToList());
    }

    private static async Task<IResult> PostCatalogAsync(HttpRequest request, IngestionDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var errors = new RowErrors();
        var (rows, problem) = await RowsAsync<CatalogBatch, CatalogRow>(request, b => b.Items, "items", errors, ct);
        if (rows is null)
        {
            return problem!;
        }
        var validator = new CatalogRowValidator();
        var valid = rows.Where(r => errors.Validate(validator, r)).ToList();
        var ids = valid.Select(r => r.Row.ActivityId!).Distinct().ToList();
        var existing = await db.CatalogItems.Where(c => ids.Contains(c.ActivityId)).ToDictionaryAsync(c => c.ActivityId, ct);
        int accepted = 0, unchanged = 0, corrected = 0;
        foreach (var (_, row) in valid)
        {
            var itemId = string.IsNullOrEmpty(row.ItemId) ? XapiStatements.ItemIdOf(row.ActivityId!) : row.ItemId;
            var skills = string.Join(',', row.SkillIds!);
            if (existing.TryGetValue(row.ActivityId!, out var item))
            {
                if (item.ItemId == itemId && item.SkillIds == skills)
                {
                    unchanged++;
                    continue;
                }
                (item.ItemId, item.SkillIds, item.UpdatedAt) = (itemId, skills, clock.GetUtcNow());
                corrected++;
            }
            else
            {
                existing[row.ActivityId!] = db.CatalogItems.Add(new CatalogItem { ActivityId = row.ActivityId!, ItemId = itemId, SkillIds = skills, UpdatedAt = clock.GetUtcNow() }).Entity;
                accepted++;
            }
        }
        await db.SaveChangesAsync(ct);
        return Summary(errors, new BatchSummary($"catalog-{Guid.NewGuid():N}", "xapi-item-catalog", Source(request), rows.Count, accepted, unchanged, corrected, errors.RejectedRows));
    }

    private static async Task<IResult> PostIdentifiersAsync(HttpRequest request, IngestionDbContext db, CancellationToken ct)
    {
        var errors = new RowErrors();
        var (rows, problem) = await RowsAsync<IdentifierBatch, IdentifierRow>(request, b => b.Identifiers, "identifiers", errors, ct);
        if (rows is null)
        {
            return problem!;
        }
        var students = rows.Select(r => r.Row.StudentId).OfType<string>().Distinct().ToList();
        var known = (await db.Students.AsNoTracking().Where(s => students.Contains(s.StudentId)).Select(s => s.StudentId).ToListAsync(ct)).ToHashSet();
        var validator = new IdentifierRowValidator(known.Contains);
        var incoming = rows.Where(r => errors.Validate(validator, r))
            .Select(r => new StudentIdentifier { Kind = r.Row.Kind!, Value = Normalise(r.Row), StudentId = r.Row.StudentId!, Source = Source(request) })
            .ToList();
        var (accepted, unchanged, corrected) = await UpsertIdentifiersAsync(db, incoming, ct);
        await db.SaveChangesAsync(ct);
        return Summary(errors, new BatchSummary($"identifiers-{Guid.NewGuid():N}", "xapi-identifiers", Source(request), rows.Count, accepted, unchanged, corrected, errors.RejectedRows));
    }

    /// <summary>Adds or re-points identifiers (one identifier names one student: the newest mapping wins); the caller saves.</summary>
    public static async Task<(int Accepted, int Unchanged, int Corrected)> UpsertIdentifiersAsync(IngestionDbContext db, IReadOnlyList<StudentIdentifier> incoming, CancellationToken ct)
    {
        var values = incoming.Select(i => i.Value).Distinct().ToList();
        var existing = (await db.StudentIdentifiers.Where(i => values.Contains(i.Value)).ToListAsync(ct)).ToDictionary(i => (i.Kind, i.Value));
        int accepted = 0, unchanged = 0, corrected = 0;
        foreach (var identifier in incoming)
        {
            if (existing.TryGetValue((identifier.Kind, identifier.Value), out var stored))
            {
                if (stored.StudentId == identifier.StudentId)
                {
                    unchanged++;
                    continue;
                }
                (stored.StudentId, stored.Source) = (identifier.StudentId, identifier.Source);
                corrected++;
            }
            else
            {
                existing[(identifier.Kind, identifier.Value)] = db.StudentIdentifiers.Add(identifier).Entity;
                accepted++;
            }
        }
        return (accepted, unchanged, corrected);
    }

    /// <summary>The identifiers an email answers to: the address (an actor's mbox) and the SHA-1 of its mailto IRI (mbox_sha1sum).</summary>
    public static IEnumerable<(string Kind, string Value)> EmailIdentifiers(string email)
    {
        var address = email.Trim().ToLowerInvariant();
        yield return (IdentifierKinds.Email, address);
        yield return (IdentifierKinds.MboxSha1Sum, Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes("mailto:" + address))));
    }

    private static string Normalise(IdentifierRow row) => row.Kind switch
    {
        IdentifierKinds.Account => XapiStatements.AccountKey(row.HomePage!, row.Value!),
        IdentifierKinds.Email => row.Value!.Trim().ToLowerInvariant().Replace("mailto:", "", StringComparison.Ordinal),
        IdentifierKinds.MboxSha1Sum => row.Value!.ToLowerInvariant(),
        _ => row.Value!,
    };

    private static async Task<(List<Positioned<TRow>>? Rows, IResult? Problem)> RowsAsync<TBatch, TRow>(HttpRequest request, Func<TBatch, List<TRow>?> rowsOf,
        string collection, RowErrors errors, CancellationToken ct)
        where TBatch : class
    {
        if (IntakeApi.IsCsv(request))
        {
            IntakeApi.SetBodyLimit(request, IntakeApi.MaxCsvBytes);
            if (await IntakeApi.CsvStreamAsync(request, ct) is not { } file)
            {
                return (null, Results.ValidationProblem(new Dictionary<string, string[]> { ["file"] = ["A multipart upload must contain one CSV file."] }));
            }
            return (await CsvRows.ReadAsync<TRow>(file, errors, ct).ToListAsync(ct), null);
        }
        IntakeApi.SetBodyLimit(request, IntakeApi.MaxJsonBytes);
        var (body, problem) = await JsonBody.ReadAsync<TBatch>(request, ct);
        return body is null ? (null, problem) : ([.. IntakeApi.Positioned(rowsOf(body), collection)], null);
    }

    private static IResult Summary(RowErrors errors, BatchSummary summary) => errors.Any ? SignalIntake.RejectedRows(errors, summary) : Results.Ok(summary);

    /// <summary>An issued key's source (a Basic caller cannot name another); else X-Beacon-Source; else "xapi".</summary>
    private static string Source(HttpRequest request) =>
        request.HttpContext.User.FindFirst(XapiBasic.SourceClaim)?.Value ?? request.Headers["X-Beacon-Source"].FirstOrDefault() ?? "xapi";
}
