using Microsoft.Playwright;

namespace Beacon.Dashboard.Tests;

/// <summary>
/// One platform (./beacon up with its demo) and one headless Chromium for all the dashboard tests.
/// The browser is Debian's Chromium (/usr/bin/chromium, or BEACON_CHROMIUM); Playwright never downloads one.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public static string ChromiumPath =>
        Environment.GetEnvironmentVariable("BEACON_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    /// <summary>Why the tests cannot run here, or null. In CI (CI=true) a missing browser fails instead.</summary>
    public static string? Unavailable
    {
        get
        {
            if (File.Exists(ChromiumPath))
            {
                return null;
            }
            var why = $"Chromium not found at {ChromiumPath} (apt-get install -y chromium, or set BEACON_CHROMIUM).";
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"CI=true but {why}");
            }
            return why;
        }
    }

    /// <summary>The platform started for the tests; null when BEACON_TEST_GATEWAY names one already running.</summary>
    public DemoPlatform? Platform { get; private set; }
    public Uri Gateway { get; private set; } = null!;
    public IPlaywright Playwright { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;
    public string Screenshots { get; } = Path.Combine(AppContext.BaseDirectory, "screenshots");

    public async Task InitializeAsync()
    {
        if (Unavailable is not null)
        {
            return;
        }
        Directory.CreateDirectory(Screenshots);
        // A running ./beacon up (with its demo) can be reused while working on the dashboard.
        var running = Environment.GetEnvironmentVariable("BEACON_TEST_GATEWAY");
        var starting = string.IsNullOrEmpty(running) ? DemoPlatform.StartAsync(TimeSpan.FromMinutes(4)) : null;
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        Platform = starting is null ? null : await starting;
        Gateway = Platform?.Gateway ?? new Uri(running!);
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }
        Playwright?.Dispose();
        if (Platform is not null)
        {
            await Platform.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "dashboard";
}
