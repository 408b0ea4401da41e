using System.Net.ServerSentEvents;
using System.Text.Json;
using Beacon.Notifications.Domain;
using Beacon.Notifications.Grpc;
using Beacon.Notifications.Outbound;
using Beacon.Notifications.Storage;
using Beacon.ServiceDefaults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using GetFeedRequest = Beacon.Contracts.Notifications.GetFeedRequest;
using GetFeedResponse = Beacon.Contracts.Notifications.GetFeedResponse;

namespace Beacon.Notifications.Apis;

/// <summary>
/// Every REST route of Notifications: a staff member's feed (read through the gRPC Notifications service, the answer
/// it gives gRPC callers), read marks, the live feed (server-sent events) and preferences; the dead-letter list for ops.
/// </summary>
public static class NotificationsApi
{
    public static IEndpointRouteBuilder MapNotificationsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/notifications/v1").WithTags("Notifications");
        // A staff member's feed and preferences are theirs alone (administrators excepted); anyone else
        // gets a 404, as if the staff member did not exist.
        var staff = api.MapGroup("/staff/{staffId}").AddEndpointFilter(async (ctx, next) =>
            ctx.HttpContext.GetRouteValue("staffId") is string staffId && ctx.HttpContext.User.IsSelfOrAdministrator(staffId)
                ? await next(ctx)
                : Results.NotFound())
            .WithDescription("Only the staff member themself or an administrator; anyone else gets 404, as if the staff member did not exist.");
        staff.MapGet("/feed", (string staffId, bool? unreadOnly, HttpContext http) =>
                GrpcRest.AnswerAsync<NotificationsGrpcService, GetFeedResponse>(http, (feed, call) =>
                    feed.GetFeed(new GetFeedRequest { StaffId = staffId, UnreadOnly = unreadOnly ?? false }, call)))
            .WithName("GetFeed").WithSummary("A staff member's in-app feed, newest first, with the unread count").Produces<GetFeedResponse>();
        staff.MapGet("/preferences", GetPreferencesAsync).WithName("GetPreferences").WithSummary("A staff member's channels per event kind, quiet hours, digest time");
        staff.MapPut("/preferences", PutPreferencesAsync).WithName("PutPreferences").WithSummary("Replace a staff member's preferences")
            .Accepts<PreferencesRequest>("application/json");
        staff.MapPost("/feed/{entryId}/read", MarkReadAsync).WithName("MarkRead").WithSummary("Mark a feed entry read").ProducesProblem(StatusCodes.Status404NotFound);
        staff.MapWorklist();
        staff.MapPost("/feed/stream-ticket", StreamTickets.IssueAsync).WithName("FeedStreamTicket")
            .WithSummary("A ticket for one live-feed connection: 30 seconds, this stream, this user, once (see FeedStream)");
        staff.MapGet("/feed/stream", (string staffId, FeedBroadcaster broadcaster, IConfiguration config, TimeProvider clock, CancellationToken ct) =>
            TypedResults.ServerSentEvents(Stream(staffId, broadcaster,
                config.GetValue("Notifications:StreamHeartbeat", TimeSpan.FromSeconds(15)), clock, ct)))
            .RequireAuthorization(StreamTickets.StreamPolicy)
            .WithName("FeedStream").WithSummary("Live feed (server-sent events): a bearer token, or ?ticket= from FeedStreamTicket; never a token in the URL");
        api.MapGet("/dead-letters", DeadLettersAsync).RequireAuthorization(Policies.Ops).WithName("DeadLetters").WithSummary("Deliveries that failed every retry");
        api.MapPost("/dead-letters/{deliveryId}/redrive", RedriveAsync).RequireAuthorization(Policies.Ops).WithName("Redrive").WithSummary("Try a dead delivery again");
        return app;
    }

    /// <summary>
    /// A "ready" event first, so the client sees the stream open at once; then one "feed-entry" event per new
    /// entry, and a "heartbeat" when nothing was sent for a while: proxies (the gateway's YARP after 100 s)
    /// close a quiet connection, and a client whose stream died silently would miss every alert after it.
    /// The subscription has a cancellation of its own: an async iterator cannot be disposed while a MoveNextAsync is
    /// pending (NotSupportedException), so the stream ends the pending read first, then lets go of the feed.
    /// </summary>
    private static async IAsyncEnumerable<SseItem<object>> Stream(string staffId, FeedBroadcaster broadcaster, TimeSpan heartbeat, TimeProvider clock,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        yield return new SseItem<object>(new { staffId }, "ready");
        using var subscription = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var feed = broadcaster.Subscribe(staffId, subscription.Token).GetAsyncEnumerator(subscription.Token);
        var next = feed.MoveNextAsync().AsTask();
        try
        {
            while (!ct.IsCancellationRequested)
            {
                if (!await FeedBroadcaster.NextBeforeAsync(next, heartbeat, clock, ct))
                {
                    if (!ct.IsCancellationRequested)
                    {
                        yield return new SseItem<object>(new { at = DateTimeOffset.UtcNow }, "heartbeat");
                    }
                    continue;
                }
                if (!await next)
                {
                    yield break;
                }
                var e = feed.Current;
                yield return new SseItem<object>(new { entryId = e.EntryId, staffId = e.StaffId, kind = e.Kind, studentId = e.StudentId, title = e.Title, body = e.Body, createdAt = e.CreatedAt, eventId = e.SourceEventId }, "feed-entry");
                next = feed.MoveNextAsync().AsTask();
            }
        }
        finally
        {
            await subscription.CancelAsync();
            try
            {
                await next;
            }
            catch (OperationCanceledException)
            {
                // the read the stream ended
            }
            await feed.DisposeAsync();
        }
    }

    private static async Task<IResult> GetPreferencesAsync(string staffId, NotificationsDbContext db, IOptions<DeliveryOptions> delivery, CancellationToken ct)
    {
        var p = await db.Preferences.AsNoTracking().FirstOrDefaultAsync(x => x.StaffId == staffId, ct);
        var rules = p is null ? [] : PreferenceRules.Parse(p.Rules);
        return Results.Ok(new
        {
            staffId,
            kinds = EventKinds.All.ToDictionary(k => k, k => rules.GetValueOrDefault(k) ?? PreferenceDefaults.Default),
            quietHours = p?.QuietFrom is null ? null : new { from = p.QuietFrom.Value.ToString("HH:mm"), until = p.QuietUntil!.Value.ToString("HH:mm") },
            timeZone = p?.TimeZone ?? "UTC",
            digestAt = (p?.DigestAt ?? new TimeOnly(7, 0)).ToString("HH:mm"),
            webhookUrl = p?.WebhookUrl,
            webhookSecretSet = !string.IsNullOrEmpty(p?.WebhookSecret),
            // What this deployment can send: "sms" only where a transport for texts is configured.
            channelsOffered = Channels.Offered(delivery.Value.SmsOffered),
        });
    }

    private static async Task<IResult> PutPreferencesAsync(string staffId, HttpRequest request, NotificationsDbContext db, WebhookGuard webhooks,
        IOptions<DeliveryOptions> delivery, CancellationToken ct)
    {
        var (body, problem) = await JsonBody.ReadAsync(request, new PreferencesValidator(webhooks, delivery.Value.SmsOffered), ct);
        if (body is null)
        {
            return problem!;
        }
        var p = await db.Preferences.FirstOrDefaultAsync(x => x.StaffId == staffId, ct);
        if (p is null)
        {
            p = new UserPreferences { StaffId = staffId };
            db.Preferences.Add(p);
        }
        p.Rules = PreferenceRules.Format((body.Kinds ?? []).ToDictionary(k => k.Key, k => new KindRule(k.Value.Channels!, k.Value.Digest ?? false)));
        p.QuietFrom = body.QuietHours is null ? null : TimeOnly.ParseExact(body.QuietHours.From!, "HH:mm");
        p.QuietUntil = body.QuietHours is null ? null : TimeOnly.ParseExact(body.QuietHours.Until!, "HH:mm");
        p.TimeZone = body.TimeZone ?? "UTC";
        p.DigestAt = body.DigestAt is null ? new TimeOnly(7, 0) : TimeOnly.ParseExact(body.DigestAt, "HH:mm");
        p.WebhookUrl = body.WebhookUrl;
        p.WebhookSecret = body.WebhookUrl is null ? null : body.WebhookSecret;
        await db.SaveChangesAsync(ct);
        return await GetPreferencesAsync(staffId, db, delivery, ct);
    }

    private static async Task<IResult> MarkReadAsync(string staffId, string entryId, NotificationsDbContext db, CancellationToken ct)
    {
        if (!Guid.TryParse(entryId, out var id))
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["entryId"] = [$"'{entryId}' is not an entry id."] });
        }
        var entry = await db.Feed.FirstOrDefaultAsync(f => f.EntryId == id && f.StaffId == staffId, ct);
        if (entry is null)
        {
            return Results.Problem(statusCode: 404, title: "No such feed entry", detail: $"Staff '{staffId}' has no feed entry '{entryId}'.");
        }
        entry.Read = true;
        await db.SaveChangesAsync(ct);
        return Results.NoContent();
    }

    private static async Task<IResult> DeadLettersAsync(NotificationsDbContext db, CancellationToken ct)
    {
        var dead = await db.Deliveries.AsNoTracking().Where(d => d.Status == DeliveryStatuses.Dead).ToListAsync(ct);
        return Results.Ok(new
        {
            deadLetters = dead.OrderByDescending(d => d.CreatedAt).Select(d => new
            {
                d.DeliveryId,
                d.StaffId,
                d.Channel,
                d.Kind,
                eventId = d.SourceEventId,
                d.Title,
                d.Attempts,
                d.LastError,
                d.CreatedAt,
            }),
        });
    }

    private static async Task<IResult> RedriveAsync(string deliveryId, NotificationsDbContext db, TimeProvider clock, CancellationToken ct)
    {
        if (!Guid.TryParse(deliveryId, out var id))
        {
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["deliveryId"] = [$"'{deliveryId}' is not a delivery id."] });
        }
        var d = await db.Deliveries.FirstOrDefaultAsync(x => x.DeliveryId == id, ct);
        if (d is null)
        {
            return Results.Problem(statusCode: 404, title: "No such delivery", detail: $"Delivery '{deliveryId}' does not exist.");
        }
        if (d.Status != DeliveryStatuses.Dead || d.Channel == Channels.None)
        {
            return Results.Problem(statusCode: 409, title: "Cannot re-drive this delivery",
                detail: d.Channel == Channels.None ? "It has no recipient; fix the roster, the next event will find one." : $"It is {d.Status}, not dead.");
        }
        d.Status = DeliveryStatuses.Pending;
        d.Attempts = 0;
        d.NotBefore = clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
        return Results.Accepted($"/api/notifications/v1/dead-letters", new { d.DeliveryId, d.Status });
    }
}
