using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.Ingestion.Domain;
using Beacon.Ingestion.Intake;
using Beacon.Ingestion.Storage;
using Beacon.ServiceDefaults;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Apis;

/// <summary>
/// Write side of Ingestion. Every signal kind is accepted as a JSON batch (Content-Type
/// application/json) or a CSV file (text/csv, or a multipart upload), under an optional batch id
/// (Idempotency-Key header or ?batchId=) and source (X-Beacon-Source header or ?source=).
/// Batches keep their valid rows and report each rejected row by position, field and reason;
/// rejected rows go to the quarantine. Re-sending a row with the same natural key and values changes
/// nothing; new values are a correction.
/// </summary>
public static class IntakeApi
{
    /// <summary>Rows in one JSON batch; bigger loads go as CSV, which is streamed.</summary>
    public const int MaxJsonRows = 10_000;
    public const long MaxJsonBytes = 16L * 1024 * 1024;
    public const long MaxCsvBytes = 512L * 1024 * 1024;

    public static IEndpointRouteBuilder MapIntakeApi(this IEndpointRouteBuilder app)
    {
        // Writes come from data feeds (and administrators); a feed can write but never read students back.
        var api = app.MapGroup("/api/ingestion/v1").RequireAuthorization(Policies.Feeds).WithTags("Signals and roster");
        api.MapPost("/roster", PostRosterAsync);
        MapSignal<AttendanceBatch, AttendanceRow>(api, "/attendance", () => new AttendanceProcessor(), b => b.Records, "records");
        MapSignal<ItemResponseBatch, ItemResponseRow>(api, "/item-responses", () => new ItemResponseProcessor(), b => b.Responses, "responses");
        MapSignal<GradeBatch, GradeRow>(api, "/grades", () => new GradeProcessor(), b => b.Grades, "grades");
        MapSignal<BehaviorIncidentBatch, BehaviorIncidentRow>(api, "/behavior-incidents", () => new BehaviorIncidentProcessor(), b => b.Incidents, "incidents");
        MapSignal<CalendarBatch, CalendarRow>(api, "/calendars", () => new CalendarProcessor(), b => b.Entries, "entries");
        api.MapPost("/oneroster", PostOneRosterAsync).DisableAntiforgery();
        return app;
    }

    /// <summary>
    /// A OneRoster 1.1 or 1.2 CSV bundle: a zip (the body as application/zip, or one .zip file in a multipart form) or
    /// the CSV files of a bundle as a multipart form. Every file of the spec is accepted (see OneRosterBundle).
    /// </summary>
    private static async Task<IResult> PostOneRosterAsync(HttpRequest request, OneRosterImport oneRoster, CancellationToken ct)
    {
        static IResult Refused(string key, string why) =>
            Results.ValidationProblem(new Dictionary<string, string[]> { [key] = [why] }, title: "Not a OneRoster bundle; nothing was stored");
        const string Usage = "Send a OneRoster CSV bundle: a zip (Content-Type application/zip, or a .zip file in a multipart form) or its CSV files as multipart/form-data.";

        SetBodyLimit(request, MaxCsvBytes);
        var bundle = new OneRosterBundle();
        if (request.ContentType?.StartsWith("application/zip", StringComparison.OrdinalIgnoreCase) == true)
        {
            // ZipArchive needs to seek: the body is copied to a temporary file first (bundles can be hundreds of MB).
            await using var copy = new FileStream(Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.DeleteOnClose);
            await request.Body.CopyToAsync(copy, ct);
            copy.Position = 0;
            if (await bundle.AddZipAsync(copy, MaxCsvBytes, ct) is { } why)
            {
                return Refused("zip", why);
            }
        }
        else if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(ct);
            if (form.Files.Count == 0)
            {
                return Refused("files", Usage);
            }
            foreach (var file in form.Files)
            {
                await using var stream = file.OpenReadStream();
                var name = Path.GetFileName(file.FileName);
                var why = name.EndsWith(".zip", StringComparison.OrdinalIgnoreCase)
                    ? await bundle.AddZipAsync(stream, MaxCsvBytes, ct)
                    : await bundle.AddAsync(name, stream, ct);
                if (why is not null)
                {
                    return Refused(name, why);
                }
            }
        }
        else
        {
            return Refused("files", Usage);
        }
        var errors = new RowErrors();
        var files = bundle.HonourManifest(errors);
        var source = request.Headers["X-Beacon-Source"].FirstOrDefault() ?? "oneroster";
        var recordedAtErrors = new Dictionary<string, string[]>();
        var recordedAt = RecordedAtOf(request, recordedAtErrors);
        if (recordedAtErrors.Count > 0)
        {
            return Results.ValidationProblem(recordedAtErrors, title: "Invalid recordedAt; nothing was stored");
        }
        var bulk = bundle.Tables.Keys.Where(f => bundle.ModeOf(f) == "bulk").ToHashSet(StringComparer.OrdinalIgnoreCase);
        var summary = await oneRoster.ApplyAsync(bundle.Tables, errors, source, ct, recordedAt, bulk) with
        {
            OneRosterVersion = bundle.Manifest().GetValueOrDefault("oneroster.version"),
            Files = files,
        };
        return errors.Any ? SignalIntake.RejectedRows(errors, summary) : Results.Ok(summary);
    }

    private static void MapSignal<TBatch, TRow>(RouteGroupBuilder api, string path, Func<ISignalProcessor<TRow>> processor,
        Func<TBatch, List<TRow>?> rowsOf, string collection)
        where TBatch : class =>
        api.MapPost(path, async (HttpRequest request, SignalIntake intake, CancellationToken ct) =>
        {
            var (batch, problem) = BatchOf(request);
            if (problem is not null)
            {
                return problem;
            }
            if (await intake.AlreadySeenAsync(batch, ct) is { } answer)
            {
                return answer;
            }
            var errors = new RowErrors();
            if (IsCsv(request))
            {
                SetBodyLimit(request, MaxCsvBytes);
                var file = await CsvStreamAsync(request, ct);
                if (file is null)
                {
                    return Results.ValidationProblem(new Dictionary<string, string[]> { ["file"] = ["A multipart upload must contain one CSV file."] });
                }
                return await intake.IngestAsync(processor(), CsvRows.ReadAsync<TRow>(file, errors, ct), errors, batch, ct);
            }
            SetBodyLimit(request, MaxJsonBytes);
            var (body, jsonProblem) = await JsonBody.ReadAsync<TBatch>(request, ct);
            if (body is null)
            {
                return jsonProblem!;
            }
            var rows = rowsOf(body) ?? [];
            if (rows.Count > MaxJsonRows)
            {
                return Results.ValidationProblem(new Dictionary<string, string[]>
                {
                    [collection] = [$"{rows.Count} rows is more than {MaxJsonRows} in one JSON batch; split it or upload a CSV file."],
                }, title: "Batch too large; nothing was stored");
            }
            return await intake.IngestAsync(processor(), Positioned(rows, collection).ToAsyncEnumerable(), errors, batch, ct);
        });

    internal static IEnumerable<Positioned<TRow>> Positioned<TRow>(List<TRow>? rows, string collection) =>
        (rows ?? []).Select((row, i) => new Positioned<TRow>($"{collection}[{i}]", row));

    private static (BatchContext Batch, IResult? Problem) BatchOf(HttpRequest request)
    {
        var batchId = request.Headers["Idempotency-Key"].FirstOrDefault() ?? request.Query["batchId"].FirstOrDefault();
        var source = request.Headers["X-Beacon-Source"].FirstOrDefault() ?? request.Query["source"].FirstOrDefault() ?? "api";
        var errors = new Dictionary<string, string[]>();
        if (batchId is { Length: > 100 } || (batchId is not null && string.IsNullOrWhiteSpace(batchId)))
        {
            errors["batchId"] = ["must be 1 to 100 characters."];
        }
        if (source.Length is 0 or > 64)
        {
            errors["source"] = ["must be 1 to 64 characters."];
        }
        var recordedAt = RecordedAtOf(request, errors);
        var batch = new BatchContext(batchId ?? Guid.NewGuid().ToString("N"), source, recordedAt);
        return errors.Count > 0 ? (batch, Results.ValidationProblem(errors, title: "Invalid batch id or source")) : (batch, null);
    }

    /// <summary>
    /// ?recordedAt= (or X-Beacon-Recorded-At): for a backfill of past years, when the source system recorded the batch, an
    /// ISO 8601 instant with its offset, not in the future and not before 2000. Absent: null (the records are known now).
    /// </summary>
    internal static DateTimeOffset? RecordedAtOf(HttpRequest request, Dictionary<string, string[]> errors)
    {
        var text = request.Headers["X-Beacon-Recorded-At"].FirstOrDefault() ?? request.Query["recordedAt"].FirstOrDefault();
        if (text is null)
        {
            return null;
        }
        var now = request.HttpContext.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();
        if (!DateTimeOffset.TryParseExact(text, ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK"], System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.None, out var at) || !(text.EndsWith('Z') || text.Contains('+') || text.LastIndexOf('-') > 10))
        {
            errors["recordedAt"] = [$"'{text}' is not an ISO 8601 instant with its offset, e.g. 2024-10-01T18:00:00Z."];
            return null;
        }
        if (at > now.AddMinutes(5) || at.Year < 2000)
        {
            errors["recordedAt"] = [$"{text} is {(at.Year < 2000 ? "before 2000" : "in the future")}: recordedAt says when past records were made."];
            return null;
        }
        return at;
    }

    internal static bool IsCsv(HttpRequest request) =>
        request.ContentType is { } type && (type.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase)
            || type.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase));

    internal static void SetBodyLimit(HttpRequest request, long bytes)
    {
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = bytes;
        }
    }

    /// <summary>The CSV body itself, or the first file of a multipart upload (streamed, not buffered whole).</summary>
    internal static async Task<Stream?> CsvStreamAsync(HttpRequest request, CancellationToken ct)
    {
        if (!request.HasFormContentType)
        {
            return request.Body;
        }
        var boundary = Microsoft.Net.Http.Headers.HeaderUtilities.RemoveQuotes(
            Microsoft.Net.Http.Headers.MediaTypeHeaderValue.Parse(request.ContentType).Boundary).Value;
        if (string.IsNullOrEmpty(boundary))
        {
            return null;
        }
        var reader = new Microsoft.AspNetCore.WebUtilities.MultipartReader(boundary, request.Body);
        while (await reader.ReadNextSectionAsync(ct) is { } section)
        {
            if (Microsoft.Net.Http.Headers.ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                && (disposition.FileName.HasValue || disposition.FileNameStar.HasValue))
            {
                return section.Body;
            }
        }
        return null;
    }

    private static async Task<IResult> PostRosterAsync(HttpRequest request, RosterImport roster, CancellationToken ct)
    {
        var (batch, problem) = await JsonBody.ReadAsync<RosterBatch>(request, ct);
        if (batch is null)
        {
            return problem!;
        }
        var errors = new RowErrors();
        var summary = await roster.ApplyAsync(new RosterRows(Positioned(batch.Schools, "schools"), Positioned(batch.Staff, "staff"), Positioned(batch.Students, "students")),
            errors, "api", ct);
        return errors.Any ? SignalIntake.RejectedRows(errors, summary) : Results.Ok(summary);
    }

}
