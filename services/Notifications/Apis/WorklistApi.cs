using Beacon.Notifications.Domain;
using Beacon.Notifications.Storage;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Notifications.Apis;

/// <summary>
/// A counselor's worklist: one entry per student, ranked (severe first, then the most kinds of reason, then the latest
/// change), with a digest of what changed since the counselor last marked it read, and "mark all read".
/// </summary>
public static class WorklistApi
{
    /// <summary>Maps under the staff group, whose filter already keeps the list to its owner (or an administrator).</summary>
    public static void MapWorklist(this RouteGroupBuilder staff)
    {
        staff.MapGet("/worklist", GetAsync).WithName("GetWorklist")
            .WithSummary("One entry per student of my schools with a current reason; ?kind= keeps students with a reason of that kind "
                + "(chronic-absence, behavior, course-performance, dropout), ?sort= priority (default), changed or name; ?limit= (default 50, at most 1000)")
            .ProducesValidationProblem();
        staff.MapPost("/worklist/read", ReadAllAsync).WithName("MarkWorklistRead")
            .WithSummary("Mark every worklist entry and feed entry read (\"mark all read\")");
        staff.MapPost("/worklist/{studentId}/read", ReadOneAsync).WithName("MarkWorklistEntryRead")
            .WithSummary("Mark one student's entry read").ProducesProblem(StatusCodes.Status404NotFound);
    }

    /// <summary>The orders a counselor can read the list in.</summary>
    public static readonly string[] Sorts = ["priority", "changed", "name"];

    private static async Task<IResult> GetAsync(string staffId, int? limit, string? kind, string? sort, NotificationsDbContext db, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (limit is < 1 or > 1000)
        {
            errors["limit"] = [$"limit must be between 1 and 1000, not {limit}."];
        }
        if (kind is not null && !Worklist.Families.Contains(kind))
        {
            errors["kind"] = [$"'{kind}' is not a kind of reason; use one of {string.Join(", ", Worklist.Families)}."];
        }
        if (sort is not null && !Sorts.Contains(sort))
        {
            errors["sort"] = [$"'{sort}' is not an order of the list; use one of {string.Join(", ", Sorts)}."];
        }
        if (errors.Count > 0)
        {
            return Results.ValidationProblem(errors);
        }
        // A counselor's list is bounded by the students of their schools; ranked in memory because SQLite cannot order
        // by a DateTimeOffset.
        var all = (await db.Worklist.AsNoTracking().Where(w => w.StaffId == staffId).ToListAsync(ct))
            .Select(w => (Entry: w, Reasons: Worklist.Parse(w.ReasonsJson))).ToList();
        var total = all.Count;
        var unread = all.Count(w => !w.Entry.Read);
        var severe = all.Count(w => w.Entry.Level >= 3);
        // How many students each kind of reason holds: the filter's choices show their counts.
        var kinds = Worklist.Families.ToDictionary(f => f, f => all.Count(w => w.Reasons.Any(r => r.Family == f)));
        var chosen = kind is null ? all : all.Where(w => w.Reasons.Any(r => r.Family == kind)).ToList();
        var ordered = (sort ?? "priority") switch
        {
            "changed" => chosen.OrderByDescending(w => w.Entry.ChangedAt).ThenBy(w => w.Entry.StudentName, StringComparer.Ordinal),
            "name" => chosen.OrderBy(w => w.Entry.StudentName, StringComparer.OrdinalIgnoreCase).ThenBy(w => w.Entry.StudentId, StringComparer.Ordinal),
            // Severe first, then the most kinds of reason, then the latest change: the student most worth a call.
            _ => chosen.OrderByDescending(w => w.Entry.Level).ThenByDescending(w => w.Entry.ReasonCount).ThenByDescending(w => w.Entry.ChangedAt)
                .ThenBy(w => w.Entry.StudentName, StringComparer.Ordinal),
        };
        var entries = ordered.Take(limit ?? 50).Select(pair =>
        {
            var (w, reasons) = pair;
            return new
            {
                studentId = w.StudentId,
                studentName = w.StudentName,
                gradeLevel = w.GradeLevel,
                schoolId = w.SchoolId,
                level = w.Level >= 3 ? "severe" : "flagged",
                read = w.Read,
                firstRaisedAt = w.FirstRaisedAt,
                changedAt = w.ChangedAt,
                updatedAt = w.UpdatedAt,
                reasons = reasons.Select(r => new
                {
                    family = r.Family,
                    label = r.Label,
                    level = r.Level >= 3 ? "severe" : "flagged",
                    text = Worklist.Describe(r),
                    indicator = r.IndicatorText,
                    indicatorScore = r.IndicatorScore,
                    model = r.ModelText,
                    modelScore = r.ModelScore,
                    updatedAt = r.UpdatedAt,
                }),
            };
        }).ToList();
        // The digest: what a counselor reads first in the morning, the same sentence the e-mail digest could carry.
        var digest = unread == 0
            ? $"Nothing new. {total} student(s) on your list, {severe} severe."
            : $"{unread} student(s) with something new since you last looked; {total} on your list, {severe} severe.";
        return Results.Ok(new { staffId, total, unread, severe, digest, kinds, shown = chosen.Count, entries });
    }

    private static async Task<IResult> ReadAllAsync(string staffId, NotificationsDbContext db, CancellationToken ct)
    {
        var worklist = await db.Worklist.Where(w => w.StaffId == staffId && !w.Read).ExecuteUpdateAsync(s => s.SetProperty(w => w.Read, true), ct);
        var feed = await db.Feed.Where(f => f.StaffId == staffId && !f.Read).ExecuteUpdateAsync(s => s.SetProperty(f => f.Read, true), ct);
        return Results.Ok(new { worklist, feed });
    }

    private static async Task<IResult> ReadOneAsync(string staffId, string studentId, NotificationsDbContext db, CancellationToken ct)
    {
        var entry = await db.Worklist.FirstOrDefaultAsync(w => w.StaffId == staffId && w.StudentId == studentId, ct);
        if (entry is null)
        {
            return Results.Problem(statusCode: 404, title: "No such worklist entry", detail: $"Staff '{staffId}' has no entry for student '{studentId}'.");
        }
        entry.Read = true;
        // The feed entries about the student were read along with it: they say the same thing.
        await db.Feed.Where(f => f.StaffId == staffId && f.StudentId == studentId && !f.Read).ExecuteUpdateAsync(s => s.SetProperty(f => f.Read, true), ct);
        await db.SaveChangesAsync(ct);
        return Results.NoContent();
    }
}
