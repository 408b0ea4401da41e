using System.Globalization;
using Beacon.EarlyWarning.Scoring;
using Beacon.RiskModels;
using Beacon.RiskModels.Dropout;
using Beacon.ServiceDefaults;

namespace Beacon.EarlyWarning.Apis;

/// <summary>One student's model inputs as of a date.</summary>
public sealed record StudentFeatures(string StudentId, string SchoolId, IReadOnlyList<float> Values);

public sealed record FeatureExport(string Kind, DateOnly AsOf, IReadOnlyList<string> Features, IReadOnlyList<StudentFeatures> Students);

/// <summary>
/// The inputs a model kind would score each student on as of a date, computed from Early warning's projections
/// by the same code that scores live: what a district trains and evaluates on (`./beacon eval dropout` reads
/// its training and held-out students here). Only signals dated on or before the date count; a correction
/// replaces the record it corrects (the projections keep the latest version), and mastery is the latest estimate.
/// With <c>priorYear=true</c> the previous school year's inputs are appended (<see cref="ScoredKinds.WithPriorYear"/>: for
/// dropout its attendance, incidents and marks; unknown without a calendar of that year). Per-student data, so administrators only.
/// </summary>
public static class FeaturesApi
{
    public static IEndpointRouteBuilder MapFeaturesApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/early-warning/v1/features", ExportAsync)
            .RequireAuthorization(Policies.Administrators).WithTags("Models").WithName("ModelFeatures")
            .WithSummary("Every student's model inputs as of a date (kind: chronic-absence or dropout; asOf: yyyy-MM-dd, default today; priorYear: append the previous school year's inputs)");
        return app;
    }

    private static async Task<IResult> ExportAsync(string? kind, string? asOf, bool? priorYear, StudentSignalsReader signals, TimeProvider clock, CancellationToken ct)
    {
        kind = string.IsNullOrEmpty(kind) ? K12DropoutFeatures.Kind : kind;
        if (!ScoredKinds.IsScored(kind))
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: $"Unknown kind '{kind}': use {ScoredKinds.Named}.");
        }
        var date = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        if (!string.IsNullOrEmpty(asOf) && !DateOnly.TryParseExact(asOf, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out date))
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: $"asOf must be a date as yyyy-MM-dd; got '{asOf}'.");
        }
        var set = priorYear is true ? ScoredKinds.WithPriorYear(kind) : FeatureSets.For(kind);
        var students = new List<StudentFeatures>();
        await foreach (var row in signals.AllAsync(kind, ct, date))
        {
            students.Add(new StudentFeatures(row.StudentId, row.SchoolId, ScoredKinds.Features(kind, row.Signals, date, clock.GetUtcNow(), set)));
        }
        return Results.Ok(new FeatureExport(kind, date, set.Names, students));
    }
}
