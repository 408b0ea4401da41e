using System.Text.Json;
using System.Text.Json.Nodes;
using Beacon.Ingestion.Domain;
using Beacon.Ingestion.Intake;
using Beacon.Ingestion.Storage;
using Beacon.Messaging;
using Beacon.ServiceDefaults;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Apis;

/// <summary>What operators use: the quarantine, batch receipts, the data-quality report and replay.</summary>
public static class OperationsApi
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public sealed record QuarantineEntry(long Id, string Kind, string Source, string BatchId, string Position, string Raw, string[] Errors,
        DateTimeOffset ReceivedAt, string Status);

    public sealed record SourceQuality(string Source, string Kind, int Batches, int Received, int Accepted, int Unchanged, int Corrected, int Rejected,
        int LateArrivals, Dictionary<string, int> RejectedByField);

    public sealed record DataQualityReport(DateOnly Day, IReadOnlyList<SourceQuality> Sources, int OpenQuarantine, int SilentStudentDays,
        int StudentsWithoutAttendance, IReadOnlyList<string> StudentsWithoutAttendanceSample, int ItemResponsesRejectedForSkills);

    public sealed record ReplayResult(int Replayed, long? FirstSequence, long? LastSequence);

    public static IEndpointRouteBuilder MapOperationsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/ingestion/v1").WithTags("Operations");
        // Quarantined rows and the event log hold raw student data: administrators only. A feed may ask how
        // its own batch went; data quality is counts only, for ops.
        api.MapGet("/quarantine", ListQuarantineAsync).RequireAuthorization(Policies.Administrators);
        api.MapPost("/quarantine/{id:long}/resubmit", ResubmitAsync).RequireAuthorization(Policies.Administrators);
        api.MapDelete("/quarantine/{id:long}", DiscardAsync).RequireAuthorization(Policies.Administrators);
        api.MapGet("/batches/{batchId}", GetBatchAsync).RequireAuthorization(Policies.Feeds);
        api.MapGet("/data-quality", DataQualityAsync).RequireAuthorization(Policies.Ops);
        api.MapGet("/data-quality/export", DataQualityCsvAsync).RequireAuthorization(Policies.Ops)
            .WithSummary("The data-quality report as CSV: part=sources (default) or silent-students")
            .Produces(StatusCodes.Status200OK, contentType: "text/csv").ProducesValidationProblem();
        api.MapPost("/replay", ReplayAsync).RequireAuthorization(Policies.Administrators);
        api.MapGet("/outbox", OutboxAsync).RequireAuthorization(Policies.Administrators);
        return app;
    }

    private static async Task<IResult> ListQuarantineAsync(IngestionDbContext db, string? kind, string? status, int? limit, CancellationToken ct)
    {
        var query = db.Quarantine.AsNoTracking().Where(q => q.Status == (status ?? QuarantineStatuses.Open));
        if (!string.IsNullOrEmpty(kind))
        {
            query = query.Where(q => q.Kind == kind);
        }
        var rows = await query.OrderBy(q => q.Id).Take(Math.Clamp(limit ?? 100, 1, 1000)).ToListAsync(ct);
        return Results.Ok(rows.Select(ToEntry));
    }

    private static QuarantineEntry ToEntry(QuarantinedRow q) =>
        new(q.Id, q.Kind, q.Source, q.BatchId, q.Position, q.Raw, q.Errors.Split('\n'), q.ReceivedAt, q.Status);

    /// <summary>
    /// Re-submits a fixed row (the body is the row, in the kind's JSON shape). If it is valid now it is
    /// stored like any other row and the quarantine entry is closed; if not, the entry stays open and the
    /// answer names what is still wrong.
    /// </summary>
    private static async Task<IResult> ResubmitAsync(long id, HttpRequest request, IngestionDbContext db, SignalIntake intake, TimeProvider clock, CancellationToken ct)
    {
        var entry = await db.Quarantine.FindAsync([id], ct);
        if (entry is null)
        {
            return Results.Problem(statusCode: 404, title: $"Quarantine entry {id} does not exist.");
        }
        if (entry.Status != QuarantineStatuses.Open)
        {
            return Results.Problem(statusCode: 409, title: $"Quarantine entry {id} is already {entry.Status}.");
        }
        var (body, problem) = await JsonBody.ReadAsync<JsonObject>(request, ct);
        if (body is null)
        {
            return problem!;
        }
        var batch = new BatchContext($"resubmit-{id}-{Guid.NewGuid():N}", entry.Source);
        var errors = new RowErrors();
        BatchSummary summary;
        try
        {
            summary = entry.Kind switch
            {
                "attendance" => await RunOneAsync(intake, new AttendanceProcessor(), body, errors, batch, ct),
                "item-responses" => await RunOneAsync(intake, new ItemResponseProcessor(), body, errors, batch, ct),
                "grades" => await RunOneAsync(intake, new GradeProcessor(), body, errors, batch, ct),
                "behavior-incidents" => await RunOneAsync(intake, new BehaviorIncidentProcessor(), body, errors, batch, ct),
                _ => throw new NotSupportedException($"Rows of kind '{entry.Kind}' are re-sent through their own endpoint (POST /api/ingestion/v1/{entry.Kind})."),
            };
        }
        catch (NotSupportedException ex)
        {
            return Results.Problem(statusCode: 400, title: ex.Message);
        }
        catch (JsonException ex)
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { [ex.Path ?? "$"] = [ex.Message] }, title: "The row does not have the expected shape");
        }
        if (errors.Any)
        {
            return SignalIntake.RejectedRows(errors, summary);
        }
        // The intake cleared the change tracker; close the entry with a direct update.
        var now = clock.GetUtcNow();
        await db.Quarantine.Where(q => q.Id == id)
            .ExecuteUpdateAsync(u => u.SetProperty(q => q.Status, QuarantineStatuses.Resubmitted).SetProperty(q => q.ResolvedAt, now), ct);
        return Results.Ok(summary);
    }

    private static Task<BatchSummary> RunOneAsync<TRow>(SignalIntake intake, ISignalProcessor<TRow> processor, JsonObject body, RowErrors errors,
        BatchContext batch, CancellationToken ct)
    {
        var row = body.Deserialize<TRow>(Json)!;
        return intake.RunAsync(processor, new[] { new Positioned<TRow>("row", row) }.ToAsyncEnumerable(), errors, batch, quarantine: false, ct);
    }

    private static async Task<IResult> DiscardAsync(long id, IngestionDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var entry = await db.Quarantine.FindAsync([id], ct);
        if (entry is null)
        {
            return Results.Problem(statusCode: 404, title: $"Quarantine entry {id} does not exist.");
        }
        entry.Status = QuarantineStatuses.Discarded;
        entry.ResolvedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
        return Results.NoContent();
    }

    private static async Task<IResult> GetBatchAsync(string batchId, IngestionDbContext db, CancellationToken ct) =>
        await db.Batches.AsNoTracking().FirstOrDefaultAsync(b => b.BatchId == batchId, ct) is { } batch
            ? Results.Ok(new BatchSummary(batch.BatchId, batch.Kind, batch.Source, batch.Received, batch.Accepted, batch.Unchanged, batch.Corrected, batch.Rejected))
            : Results.Problem(statusCode: 404, title: $"Batch '{batchId}' has not been received.");

    /// <summary>
    /// Per source and kind for one day: rows received, accepted, rejected by field, late arrivals; plus
    /// students on the roster with no attendance in the last N days (default 5) and the open quarantine.
    /// </summary>
    private static async Task<IResult> DataQualityAsync(IngestionDbContext db, TimeProvider clock, string? day, int? silentDays, CancellationToken ct)
    {
        if (DataQualityDay(clock, day) is not { } date)
        {
            return BadDay(day);
        }
        var (report, _) = await DataQualityOfAsync(db, date, silentDays, ct);
        return Results.Ok(report);
    }

    /// <summary>
    /// The same report as CSV for a spreadsheet: <c>part=sources</c> (default) is a row per source and kind, rejections by
    /// field as "field=count; ..."; <c>part=silent-students</c> lists every student without attendance (the JSON report
    /// only samples 100).
    /// </summary>
    private static async Task<IResult> DataQualityCsvAsync(IngestionDbContext db, TimeProvider clock, string? day, int? silentDays, string? part, CancellationToken ct)
    {
        if (DataQualityDay(clock, day) is not { } date)
        {
            return BadDay(day);
        }
        if (part is not (null or "sources" or "silent-students"))
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["part"] = [$"'{part}' is not a part of the report: sources or silent-students."] });
        }
        var (report, silent) = await DataQualityOfAsync(db, date, silentDays, ct);
        return part == "silent-students"
            ? CsvAnswer.Of($"silent-students-{date:yyyy-MM-dd}.csv", ["day", "student_id", "days_without_attendance"],
                silent.Select(id => new object[] { date.ToString("yyyy-MM-dd"), id, report.SilentStudentDays }))
            : CsvAnswer.Of($"data-quality-{date:yyyy-MM-dd}.csv",
                ["day", "source", "kind", "batches", "received", "accepted", "unchanged", "corrected", "rejected", "late_arrivals", "rejected_by_field"],
                report.Sources.Select(x => new object[]
                {
                    date.ToString("yyyy-MM-dd"), x.Source, x.Kind, x.Batches, x.Received, x.Accepted, x.Unchanged, x.Corrected, x.Rejected, x.LateArrivals,
                    string.Join("; ", x.RejectedByField.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => $"{f.Key}={f.Value}")),
                }));
    }

    private static DateOnly? DataQualityDay(TimeProvider clock, string? day) =>
        day is null ? DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime)
        : DateOnly.TryParseExact(day, "yyyy-MM-dd", out var date) ? date : null;

    private static IResult BadDay(string? day) =>
        Results.ValidationProblem(new Dictionary<string, string[]> { ["day"] = [$"'{day}' is not a date in the form yyyy-MM-dd."] });

    private static async Task<(DataQualityReport Report, List<string> Silent)> DataQualityOfAsync(IngestionDbContext db, DateOnly date, int? silentDays, CancellationToken ct)
    {
        var n = Math.Clamp(silentDays ?? 5, 1, 365);
        var batches = await db.Batches.AsNoTracking().Where(b => b.Day == date).ToListAsync(ct);
        var sources = batches.GroupBy(b => (b.Source, b.Kind)).OrderBy(g => g.Key).Select(g => new SourceQuality(
            g.Key.Source, g.Key.Kind, g.Count(), g.Sum(b => b.Received), g.Sum(b => b.Accepted), g.Sum(b => b.Unchanged), g.Sum(b => b.Corrected),
            g.Sum(b => b.Rejected), g.Sum(b => b.Late),
            g.SelectMany(b => JsonSerializer.Deserialize<Dictionary<string, int>>(b.RejectedByField) ?? [])
                .GroupBy(x => x.Key).ToDictionary(x => x.Key, x => x.Sum(y => y.Value)))).ToList();

        var since = date.AddDays(-n);
        var recentlySeen = db.Attendance.Where(a => a.Date > since).Select(a => a.StudentId);
        var silent = await db.Students.AsNoTracking().Where(s => !recentlySeen.Contains(s.StudentId)).OrderBy(s => s.StudentId).Select(s => s.StudentId).ToListAsync(ct);
        var openQuarantine = await db.Quarantine.CountAsync(q => q.Status == QuarantineStatuses.Open, ct);
        var skillRejections = sources.Where(s => s.Kind == "item-responses").Sum(s => s.RejectedByField.GetValueOrDefault("skillIds"));
        return (new DataQualityReport(date, sources, openQuarantine, n, silent.Count, silent.Take(100).ToList(), skillRejections), silent);
    }

    /// <summary>
    /// Re-publishes accepted events from the append-only log (the outbox), in their original order, so a
    /// downstream projection can be rebuilt. Filters: a time range (from/to, ISO-8601) and an event type
    /// name (for example AttendanceBatchRecorded or ItemResponseBatchRecorded; older logs also hold single
    /// AttendanceRecorded and ItemResponseRecorded events). Consumers are idempotent, so a replay never double-counts.
    /// </summary>
    private static async Task<IResult> ReplayAsync(IngestionDbContext db, IBus bus, string? from, string? to, string? type, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var start = ParseInstant(from, "from", DateTimeOffset.MinValue, errors);
        var end = ParseInstant(to, "to", DateTimeOffset.MaxValue, errors);
        if (errors.Count > 0)
        {
            return Results.ValidationProblem(errors, title: "Invalid replay range");
        }
        int replayed = 0;
        long? first = null, last = null;
        long after = 0;
        while (true)
        {
            // Paged by sequence; the time filter runs here because SQLite cannot compare DateTimeOffset in SQL.
            var page = await db.Set<OutboxMessage>().AsNoTracking().Where(m => m.Sequence > after).OrderBy(m => m.Sequence).Take(5000).ToListAsync(ct);
            if (page.Count == 0)
            {
                break;
            }
            after = page[^1].Sequence;
            foreach (var message in page.Where(m => m.CreatedAt >= start && m.CreatedAt <= end
                && (type is null || m.MessageType.StartsWith($"Beacon.Contracts.Events.{type},", StringComparison.Ordinal))))
            {
                var (body, eventType) = message.ToEvent();
                await bus.Publish(body, eventType, ct);
                first ??= message.Sequence;
                last = message.Sequence;
                replayed++;
            }
        }
        return Results.Ok(new ReplayResult(replayed, first, last));
    }

    public sealed record OutboxState(int Pending, long LastSequence);

    /// <summary>How many accepted events still wait to be published (ops, and the ingestion benchmark).</summary>
    private static async Task<IResult> OutboxAsync(IngestionDbContext db, CancellationToken ct) =>
        Results.Ok(new OutboxState(
            await db.Set<OutboxMessage>().CountAsync(m => m.SentAt == null, ct),
            await db.Set<OutboxMessage>().Select(m => (long?)m.Sequence).MaxAsync(ct) ?? 0));

    private static DateTimeOffset ParseInstant(string? text, string name, DateTimeOffset fallback, Dictionary<string, string[]> errors)
    {
        if (text is null)
        {
            return fallback;
        }
        if (DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var value))
        {
            return value;
        }
        errors[name] = [$"'{text}' is not an ISO-8601 date or instant."];
        return fallback;
    }
}
