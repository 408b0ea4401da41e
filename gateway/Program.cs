using Beacon.Gateway;
using Beacon.Gateway.Security;
using Beacon.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddServiceAuthentication();
builder.AddGatewayAuthentication();
builder.AddDefaultProblemHandlers();
builder.AddDevIssuer();
builder.AddOidcSession();
builder.AddAudit();
builder.AddGatewayRateLimits();
builder.AddGateway();

var app = builder.Build();
await app.InitializeDatabaseAsync<AuditDbContext>();
app.UseForwardedScheme();
app.UseCorrelationId();
app.UseBrowserDefences();
app.UseRequestSizeLimits();
app.UseDashboard();
app.UseGatewayAuthentication();
app.UseGatewayRateLimits();
app.UseSessionCsrfCheck();
app.UseAudit();
app.UseAuthorization();
app.MapDefaultEndpoints();
app.MapAuthEndpoints();
app.MapAuditEndpoints();
app.MapApiDocs();
app.MapReverseProxy();
app.Run();

public partial class Program;
