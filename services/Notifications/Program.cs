using Beacon.Notifications;
using Beacon.Notifications.Api;
using Beacon.Notifications.Governance;
using Beacon.Notifications.Grpc;
using Beacon.Notifications.Storage;
using Beacon.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddDefaultProblemHandlers();
builder.AddServiceAuthentication();
builder.AddDefaultOpenApi();
builder.AddServiceDatabase<NotificationsDbContext>("notifications");
builder.AddNotifications();
builder.AddNotificationsRetention();
builder.Services.AddGrpc().AddJsonTranscoding();

var app = builder.Build();
await app.InitializeDatabaseAsync<NotificationsDbContext>();
app.MapDefaultEndpoints();
app.MapDefaultOpenApi();
app.MapGrpcService<NotificationsGrpcService>();
app.MapNotificationEndpoints();
app.MapRetentionEndpoint("/api/notifications/v1");
app.Run();

public partial class Program;
