using Beacon.Notifications;
using Beacon.Notifications.Storage;
using Beacon.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
await app.InitializeDatabaseAsync<NotificationsDbContext>();
app.MapDefaultEndpoints();
app.MapApplicationApis();
app.Run();

public partial class Program;
