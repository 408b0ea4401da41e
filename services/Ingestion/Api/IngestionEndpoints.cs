using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.Ingestion.Domain;
using Beacon.Ingestion.Intake;
using Beacon.Ingestion.Storage;
using Beacon.ServiceDefaults;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Api;

/// <summary>
/// Write side of Ingestion. Every signal kind is accepted as a JSON batch (Content-Type
/// application/json) or a CSV file (text/csv, or a multipart upload), under an optional batch id
/// (Idempotency-Key header or ?batchId=) and source (X-Beacon-Source header or ?source=).
/// Batches keep their valid rows and report each rejected row by position, field and reason;
/// rejected rows go to the quarantine. Re-sending a row with the same natural key and values changes
/// nothing; new values are a correction.
/// </summary>
public static class IngestionEndpoints
{
    /// <summary>Rows in one JSON batch; bigger loads go as CSV, which is streamed.</summary>
    public const int MaxJsonRows = 10_000;
    public const long MaxJsonBytes = 16L * 1024 * 1024;
    public const long MaxCsvBytes = 512L * 1024 * 1024;

    public static IEndpointRouteBuilder MapIngestionEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/ingestion/v1");
        api.MapPost("/roster", PostRosterAsync);
        MapSignal<AttendanceBatch, AttendanceRow>(api, "/attendance", () => new AttendanceProcessor(), b => b.Records, "records");
        MapSignal<ItemResponseBatch, ItemResponseRow>(api, "/item-responses", () => new ItemResponseProcessor(), b => b.Responses, "responses");
        MapSignal<GradeBatch, GradeRow>(api, "/grades", () => new GradeProcessor(), b => b.Grades, "grades");
        MapSignal<BehaviorIncidentBatch, BehaviorIncidentRow>(api, "/behavior-incidents", () => new BehaviorIncidentProcessor(), b => b.Incidents, "incidents");
        api.MapPost("/xapi/statements", PostXapiAsync);
        return app;
    }

    /// <summary>xAPI statements (one object or an array): answers become item responses, the rest LMS activity.</summary>
    private static async Task<IResult> PostXapiAsync(HttpRequest request, SignalIntake intake, IngestionDbContext db, TimeProvider clock, CancellationToken ct)
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
        SetBodyLimit(request, MaxJsonBytes);
        var (body, jsonProblem) = await JsonBody.ReadAsync<System.Text.Json.Nodes.JsonNode>(request, ct);
        if (body is null)
        {
            return jsonProblem!;
        }
        if (body is System.Text.Json.Nodes.JsonArray { Count: > MaxJsonRows } tooMany)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]>
            {
                ["statements"] = [$"{tooMany.Count} statements is more than {MaxJsonRows} in one batch; split it."],
            }, title: "Batch too large; nothing was stored");
        }
        var errors = new RowErrors();
        var (answers, activities) = XapiStatements.Map(body, errors);
        intake.Quarantine("xapi", batch, errors.TakePending(), clock.GetUtcNow());
        await db.SaveChangesAsync(ct);
        var a = await intake.RunAsync(new ItemResponseProcessor(), answers.ToAsyncEnumerable(), errors, batch, quarantine: true, ct);
        var l = await intake.RunAsync(new LmsActivityProcessor(), activities.ToAsyncEnumerable(), errors, batch with { BatchId = batch.BatchId + "/lms" }, quarantine: true, ct);
        var received = body is System.Text.Json.Nodes.JsonArray statements ? statements.Count : 1;
        var summary = new BatchSummary(batch.BatchId, "xapi", batch.Source, received,
            a.Accepted + l.Accepted, a.Unchanged + l.Unchanged, 0, errors.RejectedRows);
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
        var batch = new BatchContext(batchId ?? Guid.NewGuid().ToString("N"), source);
        return errors.Count > 0 ? (batch, Results.ValidationProblem(errors, title: "Invalid batch id or source")) : (batch, null);
    }

    private static bool IsCsv(HttpRequest request) =>
        request.ContentType is { } type && (type.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase)
            || type.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase));

    private static void SetBodyLimit(HttpRequest request, long bytes)
    {
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = bytes;
        }
    }

    /// <summary>The CSV body itself, or the first file of a multipart upload (streamed, not buffered whole).</summary>
    private static async Task<Stream?> CsvStreamAsync(HttpRequest request, CancellationToken ct)
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

    private static async Task<IResult> PostRosterAsync(HttpRequest request, IngestionDbContext db, SignalIntake intake, TimeProvider clock, CancellationToken ct)
    {
        var (batch, problem) = await JsonBody.ReadAsync<RosterBatch>(request, ct);
        if (batch is null)
        {
            return problem!;
        }
        var now = clock.GetUtcNow();
        var errors = new RowErrors();
        int accepted = 0, unchanged = 0, corrected = 0;

        var schools = await db.Schools.ToDictionaryAsync(s => s.SchoolId, ct);
        var schoolValidator = new SchoolRowValidator();
        foreach (var positioned in Positioned(batch.Schools, "schools"))
        {
            var row = positioned.Row;
            if (!errors.Validate(schoolValidator, positioned))
            {
                continue;
            }
            if (schools.TryGetValue(row.SchoolId!, out var school))
            {
                Count(school.Name == row.Name, ref unchanged, ref corrected);
                school.Name = row.Name!;
            }
            else
            {
                schools[row.SchoolId!] = db.Schools.Add(new School { SchoolId = row.SchoolId!, Name = row.Name! }).Entity;
                accepted++;
            }
        }

        var staffIds = (batch.Staff ?? []).Select(s => s.StaffId).OfType<string>().Distinct().ToList();
        var staff = await db.Staff.Where(s => staffIds.Contains(s.StaffId)).ToDictionaryAsync(s => s.StaffId, ct);
        var staffValidator = new StaffRowValidator(schools.ContainsKey);
        foreach (var positioned in Positioned(batch.Staff, "staff"))
        {
            var row = positioned.Row;
            if (!errors.Validate(staffValidator, positioned))
            {
                continue;
            }
            var incoming = new StaffMember
            {
                StaffId = row.StaffId!,
                SchoolId = row.SchoolId!,
                Role = row.Role!,
                GivenName = row.GivenName!,
                FamilyName = row.FamilyName!,
                Email = row.Email ?? "",
            };
            if (staff.TryGetValue(incoming.StaffId, out var existing))
            {
                var same = existing.SchoolId == incoming.SchoolId && existing.Role == incoming.Role && existing.GivenName == incoming.GivenName
                    && existing.FamilyName == incoming.FamilyName && existing.Email == incoming.Email;
                Count(same, ref unchanged, ref corrected);
                if (same)
                {
                    continue;
                }
                db.Entry(existing).CurrentValues.SetValues(incoming);
            }
            else
            {
                staff[incoming.StaffId] = db.Staff.Add(incoming).Entity;
                accepted++;
            }
            db.Publish(new StaffAssigned(incoming.StaffId, incoming.SchoolId, incoming.Role, incoming.GivenName, incoming.FamilyName, incoming.Email, now));
        }

        var studentIds = (batch.Students ?? []).Select(s => s.StudentId).OfType<string>().Distinct().ToList();
        var students = await db.Students.Where(s => studentIds.Contains(s.StudentId)).ToDictionaryAsync(s => s.StudentId, ct);
        var studentValidator = new StudentRowValidator(schools.ContainsKey);
        foreach (var positioned in Positioned(batch.Students, "students"))
        {
            var row = positioned.Row;
            if (!errors.Validate(studentValidator, positioned))
            {
                continue;
            }
            var incoming = new Student
            {
                StudentId = row.StudentId!,
                SchoolId = row.SchoolId!,
                GivenName = row.GivenName!,
                FamilyName = row.FamilyName!,
                GradeLevel = row.GradeLevel ?? "",
            };
            if (students.TryGetValue(incoming.StudentId, out var existing))
            {
                var same = existing.SchoolId == incoming.SchoolId && existing.GivenName == incoming.GivenName
                    && existing.FamilyName == incoming.FamilyName && existing.GradeLevel == incoming.GradeLevel;
                Count(same, ref unchanged, ref corrected);
                if (same)
                {
                    continue;
                }
                db.Entry(existing).CurrentValues.SetValues(incoming);
            }
            else
            {
                students[incoming.StudentId] = db.Students.Add(incoming).Entity;
                accepted++;
            }
            db.Publish(new StudentEnrolled(incoming.StudentId, incoming.SchoolId, incoming.GivenName, incoming.FamilyName, incoming.GradeLevel, now));
        }

        // The roster's rejected rows join the quarantine in the same transaction as its valid rows.
        intake.Quarantine("roster", new BatchContext($"roster-{now:yyyyMMddHHmmssfff}", "api"), errors.TakePending(), now);
        await db.SaveChangesAsync(ct);
        var summary = new BatchSummary("", "roster", "api", accepted + unchanged + corrected + errors.RejectedRows, accepted, unchanged, corrected, errors.RejectedRows);
        return errors.Any ? SignalIntake.RejectedRows(errors, summary) : Results.Ok(summary);
    }

    private static void Count(bool same, ref int unchanged, ref int corrected)
    {
        if (same)
        {
            unchanged++;
        }
        else
        {
            corrected++;
        }
    }

}
