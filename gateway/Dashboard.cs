using Microsoft.AspNetCore.Hosting.StaticWebAssets;

namespace Beacon.Gateway;

/// <summary>
/// The staff dashboard: static files (plain HTML, ES modules, CSS; no build step) from wwwroot, served at
/// "/" by the gateway so the browser calls the APIs on the same origin. It goes before authentication:
/// the files hold no data (every API call they make carries the user's token), and the sign-in page
/// must load before there is a token.
/// </summary>
public static class DashboardExtensions
{
    public static WebApplication UseDashboard(this WebApplication app)
    {
        // A build (./beacon up runs from bin/) finds wwwroot through the static web assets manifest, in
        // any environment; a published image has the files under its own wwwroot and no manifest.
        StaticWebAssetsLoader.UseStaticWebAssets(app.Environment, app.Configuration);
        // API calls (almost every request) skip the file lookups.
        app.UseWhen(http => !http.Request.Path.StartsWithSegments("/api"), files =>
        {
            files.UseDefaultFiles();
            files.UseStaticFiles(new StaticFileOptions
            {
                // Files change with every deploy and are small: revalidate instead of caching stale modules.
                OnPrepareResponse = file => file.Context.Response.Headers.CacheControl = "no-cache",
            });
        });
        return app;
    }
}
