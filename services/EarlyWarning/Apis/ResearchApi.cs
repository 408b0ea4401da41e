using System.Security.Claims;
using System.Text.Json;
using Beacon.EarlyWarning.Governance;
using Beacon.EarlyWarning.Storage;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;

namespace Beacon.EarlyWarning.Apis;

public sealed record ResearchExtractView(Guid ExtractId, string RequestedBy, DateTimeOffset RequestedAt, string Purpose, string Recipient, string SchoolYear,
    string Format, int K, int Rows, int Suppressed, IReadOnlyList<string> Generalizations, int SmallestClass, int SmallCellThreshold, int DateShiftDays,
    string KeyFingerprint, string FileSha256);

/// <summary>
/// The analyst profile (every signal and outcome per student and school year, names included) and the research extract
/// made from it for a partner (<see cref="ResearchExtracts"/>), with the extracts' audit records. Per-student data, so
/// administrators only (the gateway's route for /research says the same).
/// </summary>
public static class ResearchApi
{
    public const string Prefix = "/api/early-warning/v1/research";

    public static IEndpointRouteBuilder MapResearchApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup(Prefix).RequireAuthorization(Policies.Administrators).WithTags("Research");
        api.MapGet("/profiles", ProfilesAsync).WithName("ResearchProfiles")
            .Produces(StatusCodes.Status200OK, contentType: "text/csv").Produces(StatusCodes.Status200OK, contentType: TableFiles.ContentType("parquet"))
            .WithSummary("One row per student of a school year with every signal and outcome Early warning holds (schoolYear: one of the calendar's; format: csv or parquet)");
        api.MapPost("/extracts", ExtractAsync).WithName("CreateResearchExtract")
            .Produces(StatusCodes.Status200OK, contentType: "application/zip").ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("A pseudonymous, k-anonymous extract of a school year's profile for a research partner: a zip of the file, DATA-USE.md and manifest.json; audited");
        api.MapGet("/extracts", async (EarlyWarningDbContext db, CancellationToken ct) =>
                (await db.ResearchExtracts.AsNoTracking().ToListAsync(ct)).OrderByDescending(e => e.RequestedAt).Select(View).ToList())
            .Produces<List<ResearchExtractView>>().WithName("ResearchExtracts").WithSummary("Every research extract made, newest first: who, when, purpose, recipient, k, rows, suppressed, generalizations, key fingerprint");
        return app;
    }

    private static async Task<IResult> ProfilesAsync(string? schoolYear, string? format, StudentProfiles profiles, CancellationToken ct)
    {
        format ??= "csv";
        var errors = new Dictionary<string, string[]>();
        if (!ResearchExtracts.Formats.Contains(format))
        {
            errors["format"] = ["format must be 'csv' or 'parquet'."];
        }
        if (await ResearchExtracts.SchoolYearErrorAsync(profiles, schoolYear, ct) is { } year)
        {
            errors["schoolYear"] = [year];
        }
        if (errors.Count > 0)
        {
            return Results.ValidationProblem(errors);
        }
        var rows = profiles.YearAsync(schoolYear!, ct).Select(ProfileColumns.Row);
        var name = $"profiles-{schoolYear}.{format}";
        // CSV goes out as it is read; Parquet is written to a temporary file first (its footer needs to seek), then sent.
        return format == "csv"
            ? Results.Stream(output => TableFiles.WriteCsvAsync(output, ProfileColumns.Table, rows, ct), TableFiles.ContentType(format), name)
            : Results.Stream(async output =>
            {
                await using var file = new FileStream(Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 64 * 1024, FileOptions.DeleteOnClose);
                await TableFiles.WriteParquetAsync(file, ProfileColumns.Table, rows, ct);
                file.Position = 0;
                await file.CopyToAsync(output, ct);
            }, TableFiles.ContentType(format), name);
    }

    private static async Task<IResult> ExtractAsync(ExtractRequest request, ResearchExtracts extracts, ClaimsPrincipal user, CancellationToken ct)
    {
        var errors = await extracts.ValidateAsync(request, ct);
        if (errors.Count > 0)
        {
            return Results.ValidationProblem(errors);
        }
        try
        {
            var extract = await extracts.CreateAsync(request, user.UserId() ?? "unknown", ct);
            return Results.File(extract.Zip, "application/zip", $"research-extract-{extract.Audit.SchoolYear}-{extract.Audit.ExtractId:N}.zip");
        }
        catch (ExtractRefusedException e)
        {
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: e.Message);
        }
    }

    private static ResearchExtractView View(ResearchExtractRow e) => new(e.ExtractId, e.RequestedBy, e.RequestedAt, e.Purpose, e.Recipient, e.SchoolYear, e.Format,
        e.K, e.Rows, e.Suppressed, JsonSerializer.Deserialize<List<string>>(e.GeneralizationsJson) ?? [], e.SmallestClass, e.SmallCellThreshold, e.DateShiftDays,
        e.KeyFingerprint, e.FileSha256);
}
