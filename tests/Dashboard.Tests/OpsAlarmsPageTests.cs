using Microsoft.Playwright;

namespace Beacon.Dashboard.Tests;

/// <summary>Issue #21 in the browser: the ops page's alarms feed (live), every scheduled job's state, every active model at a glance.</summary>
public sealed partial class DashboardTests
{
    [SkippableFact]
    public async Task Ops_page_shows_the_alarms_feed_the_scheduled_jobs_and_every_active_model()
    {
        _name = "ops-alarms";
        Skip.If(BrowserFixture.Unavailable is not null, BrowserFixture.Unavailable);
        var page = await SignInAsync("ops-1");
        var wait = new LocatorAssertionsToHaveCountOptions { Timeout = (float)Wait.TotalMilliseconds };

        // Alarms: what Notifications lists, never an error; the live stream is open.
        var alarms = await ApiAsync("ops-1", "/api/notifications/v1/ops/alarms?limit=50");
        var section = page.Locator("#alarms");
        await Expect(section.Locator("p.muted:has-text('Loading')")).ToHaveCountAsync(0, wait);
        await Expect(section.Locator(":scope > div > .message.error")).ToHaveCountAsync(0);
        await Expect(page.Locator("#alarms-live")).ToHaveTextAsync("● live", new() { Timeout = (float)Wait.TotalMilliseconds });
        var listed = alarms.GetProperty("alarms").GetArrayLength();
        await Expect(page.Locator("#alarms-list > li")).ToHaveCountAsync(listed);
        await Expect(page.Locator("#alarms-empty")).ToHaveCountAsync(listed == 0 ? 1 : 0);

        // Jobs: the nightly re-score and daily monitoring of Early warning, the overdue scan of Interventions, from the database.
        foreach (var job in new[] { "nightly-rescore", "daily-monitoring", "overdue-scan" })
        {
            await Expect(page.Locator($"#jobs-table tr[data-job='{job}']")).ToHaveCountAsync(1, wait);
        }
        var jobs = await ApiAsync("ops-1", "/api/early-warning/v1/jobs");
        var nightly = jobs.GetProperty("jobs").EnumerateArray().Single(j => j.GetProperty("job").GetString() == "nightly-rescore");
        await Expect(page.Locator("#jobs-table tr[data-job='nightly-rescore']")).ToContainTextAsync(nightly.GetProperty("lastOutcome").GetString()!);

        // Every active model (the demo promotes chronic absence and dropout): its latest drift and false-positive line.
        await Expect(page.Locator("#active-models tbody tr")).ToHaveCountAsync(2, wait);
        await Expect(page.Locator("#active-models tr[data-kind='chronic-absence']")).ToBeVisibleAsync();
        await ShotAsync(page, "ops-alarms");
    }
}
