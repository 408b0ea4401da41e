using Beacon.Contracts.Notifications;
using Beacon.Notifications.Storage;
using Beacon.ServiceDefaults;
using Grpc.Core;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Notifications.Grpc;

public sealed class NotificationsGrpcService(NotificationsDbContext db) : Contracts.Notifications.Notifications.NotificationsBase
{
    public override async Task<GetFeedResponse> GetFeed(GetFeedRequest request, ServerCallContext context)
    {
        if (!context.GetHttpContext().User.IsSelfOrAdministrator(request.StaffId))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"No feed for staff member '{request.StaffId}'."));
        }
        var entries = await db.Feed.AsNoTracking().Where(f => f.StaffId == request.StaffId).ToListAsync(context.CancellationToken);
        var response = new GetFeedResponse { StaffId = request.StaffId, Unread = entries.Count(e => !e.Read) };
        if (request.UnreadOnly)
        {
            entries = entries.Where(e => !e.Read).ToList();
        }
        response.Entries.AddRange(entries.OrderByDescending(e => e.CreatedAt).Select(e => new Contracts.Notifications.FeedEntry
        {
            EntryId = e.EntryId.ToString(),
            StaffId = e.StaffId,
            Kind = e.Kind,
            StudentId = e.StudentId,
            Title = e.Title,
            Body = e.Body,
            CreatedAt = e.CreatedAt.ToString("O"),
            Read = e.Read,
            AlertId = e.SourceEventId.ToString(),
        }));
        return response;
    }
}
