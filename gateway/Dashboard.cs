using Microsoft.AspNetCore.Hosting.StaticWebAssets;

namespace Beacon.Gateway;

/// <summary>
/// The staff dashboard: static files (plain HTML, ES modules, CSS; no build step) from wwwroot, served at
/// "/" by the gateway so the browser calls the APIs on the same origin.
/// </summary>
public static class DashboardExtensions
{
    public static WebApplication MapDashboard(this WebApplication app)
    {
        // A build (./beacon up runs from bin/) finds wwwroot through the static web assets manifest, in
        // any environment; a published image has the files under its own wwwroot and no manifest.
        StaticWebAssetsLoader.UseStaticWebAssets(app.Environment, app.Configuration);
        app.UseDefaultFiles();
        app.UseStaticFiles(new StaticFileOptions
        {
            // Files change with every deploy and are small: revalidate instead of caching stale modules.
            OnPrepareResponse = file => file.Context.Response.Headers.CacheControl = "no-cache",
        });
        return app;
    }
}
