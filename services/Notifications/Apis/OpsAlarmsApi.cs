using System.Security.Claims;
using Beacon.Notifications.Domain;
using Beacon.Notifications.Storage;
using Beacon.ServiceDefaults;
using FluentValidation;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Notifications.Apis;

public sealed record AcknowledgeRequest(string? Note);

public sealed class AcknowledgeValidator : AbstractValidator<AcknowledgeRequest>
{
    public const int MaxNoteLength = 2000;

    public AcknowledgeValidator() =>
        RuleFor(r => r.Note).NotEmpty().WithMessage("is required: say what was done or why nothing needs doing.").MaximumLength(MaxNoteLength);
}

/// <summary>
/// The ops alarms feed (every alarm, who it reached, or the error when it reached nobody) and acknowledging one with a note.
/// An acknowledgement is the audit record itself: who, when and the note are kept on the alarm and never changed, and it
/// is logged.
/// </summary>
public static class OpsAlarmsApi
{
    public static IEndpointRouteBuilder MapOpsAlarmsApi(this IEndpointRouteBuilder app)
    {
        var ops = app.MapGroup("/api/notifications/v1/ops").WithTags("Ops alarms").RequireAuthorization(Policies.Ops);
        ops.MapGet("/alarms", ListAsync).WithName("OpsAlarms")
            .WithSummary("Ops alarms, newest first: drift, false-positive rate, retraining; recipients, or the error when there were none; acknowledgements");
        ops.MapPost("/alarms/{alarmId}/acknowledge", AcknowledgeAsync).WithName("AcknowledgeOpsAlarm")
            .WithSummary("Acknowledge an alarm with a note (who and when are recorded; once)").Accepts<AcknowledgeRequest>("application/json")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    private static async Task<IResult> ListAsync(bool? unacknowledged, int? limit, NotificationsDbContext db, CancellationToken ct)
    {
        var take = Math.Clamp(limit ?? 100, 1, 500);
        var query = db.OpsAlarms.AsNoTracking();
        if (unacknowledged == true)
        {
            query = query.Where(a => a.AcknowledgedAt == null);
        }
        // Sorted in memory: SQLite cannot order by a DateTimeOffset column; the list is short.
        var alarms = (await query.ToListAsync(ct)).OrderByDescending(a => a.RaisedAt).Take(take).ToList();
        return Results.Ok(new
        {
            unacknowledged = await db.OpsAlarms.CountAsync(a => a.AcknowledgedAt == null, ct),
            withoutRecipient = await db.OpsAlarms.CountAsync(a => a.Error != null, ct),
            alarms = alarms.Select(View),
        });
    }

    private static object View(OpsAlarm a) => new
    {
        a.AlarmId,
        a.Kind,
        a.ModelKind,
        a.Title,
        a.Body,
        a.Link,
        a.RaisedAt,
        recipients = a.Recipients.Split(',', StringSplitOptions.RemoveEmptyEntries),
        a.Error,
        acknowledged = a.AcknowledgedAt is null ? null : new { by = a.AcknowledgedBy, at = a.AcknowledgedAt, note = a.AcknowledgementNote },
    };

    private static async Task<IResult> AcknowledgeAsync(string alarmId, HttpRequest request, ClaimsPrincipal user, NotificationsDbContext db, TimeProvider clock,
        ILoggerFactory loggers, CancellationToken ct)
    {
        if (!Guid.TryParse(alarmId, out var id))
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["alarmId"] = [$"'{alarmId}' is not an alarm id."] });
        }
        var (body, problem) = await JsonBody.ReadAsync(request, new AcknowledgeValidator(), ct);
        if (body is null)
        {
            return problem!;
        }
        var alarm = await db.OpsAlarms.FirstOrDefaultAsync(a => a.AlarmId == id, ct);
        if (alarm is null)
        {
            return Results.Problem(statusCode: 404, title: "No such alarm", detail: $"There is no ops alarm '{alarmId}'.");
        }
        if (alarm.AcknowledgedAt is not null)
        {
            return Results.Problem(statusCode: 409, title: "Already acknowledged",
                detail: $"{alarm.AcknowledgedBy} acknowledged it on {alarm.AcknowledgedAt:yyyy-MM-dd HH:mm} UTC: {alarm.AcknowledgementNote}");
        }
        alarm.AcknowledgedBy = user.UserId() ?? "(unknown)";
        alarm.AcknowledgedAt = clock.GetUtcNow();
        alarm.AcknowledgementNote = body.Note!.Trim();
        await db.SaveChangesAsync(ct);
        loggers.CreateLogger("Beacon.Notifications.OpsAlarms").LogInformation("Ops alarm {AlarmId} ({Kind}) acknowledged by {User}: {Note}",
            alarm.AlarmId, alarm.Kind, alarm.AcknowledgedBy, alarm.AcknowledgementNote);
        return Results.Ok(View(alarm));
    }
}
