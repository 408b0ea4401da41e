using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Testing;
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

    /// <summary>Why the tests cannot run here, or null. Under ./beacon test or CI a missing browser fails instead.</summary>
    public static string? Unavailable
    {
        get
        {
            if (File.Exists(ChromiumPath))
            {
                return null;
            }
            return TestEnvironment.Missing($"Chromium not found at {ChromiumPath} (apt-get install -y chromium, or set BEACON_CHROMIUM)");
        }
    }

    /// <summary>The platform started for the tests; null when BEACON_TEST_GATEWAY names one already running.</summary>
    public BeaconUp? Platform { get; private set; }
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
        var starting = string.IsNullOrEmpty(running) ? BeaconUp.StartAsync(TimeSpan.FromMinutes(6), demo: true, "dashboard") : null;
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        Platform = starting is null ? null : await starting;
        Gateway = Platform?.Gateway ?? new Uri(running!);
        await WaitForDemoAsync();
    }

    /// <summary>
    /// ./beacon up returns once Ingestion has accepted the demo; Mastery, Early warning and Interventions
    /// digest it from the bus afterwards. Wait (through the API) until each school has answers and open
    /// cases, so the pages have something to show.
    /// </summary>
    private async Task WaitForDemoAsync()
    {
        using var http = new HttpClient { BaseAddress = Gateway };
        using var tokenResponse = await http.PostAsJsonAsync("/auth/dev/token", new { user = "admin-1" });
        tokenResponse.EnsureSuccessStatusCode();
        var token = (await tokenResponse.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        async Task<int> Count(string path, string list) =>
            (await http.GetFromJsonAsync<JsonElement>(path)).TryGetProperty(list, out var items) ? items.GetArrayLength() : 0;
        // One deadline for all of it: on a loaded 2-core machine the demo's events take minutes to settle.
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        foreach (var school in new[] { "north", "south" })
        {
            var answers = await Eventually.WaitAsync(() => Count($"/api/mastery/v1/schools/{school}/overview", "topFailureSkills"), n => n > 0, Left(deadline));
            var cases = await Eventually.WaitAsync(() => Count($"/api/interventions/v1/cases?status=open&schoolId={school}", "cases"), n => n > 0, Left(deadline));
            if (answers == 0 || cases == 0)
            {
                throw new InvalidOperationException($"The demo did not reach school {school} in time: {answers} skills with answers, {cases} open cases.\n{Platform?.Logs()}");
            }
        }
    }

    private static TimeSpan Left(DateTime deadline) => deadline - DateTime.UtcNow is { Ticks: > 0 } left ? left : TimeSpan.Zero;

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
