using Beacon.Gateway;
using Beacon.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddGateway();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapDashboard();
app.MapReverseProxy();
app.Run();

public partial class Program;
