using Microsoft.Playwright;

namespace Beacon.Dashboard.Tests;

/// <summary>Issue #27 item 2 in the browser: the coordinator's effect section measures attendance, or the risk-score effect of cases.</summary>
public sealed partial class DashboardTests
{
    [SkippableFact]
    public async Task Coordinator_switches_the_effect_section_from_attendance_to_risk_scores()
    {
        _name = "effect-section";
        Skip.If(BrowserFixture.Unavailable is not null, BrowserFixture.Unavailable);
        var page = await SignInAsync("coord-north");
        var section = page.Locator("#effect");
        await Expect(section).ToContainTextAsync("Measure: attendance rate", new() { Timeout = (float)Wait.TotalMilliseconds });
        await section.GetByLabel("Outcome").SelectOptionAsync("risk");
        await Expect(section).ToContainTextAsync("Measure: risk score", new() { Timeout = (float)Wait.TotalMilliseconds });
        await ShotAsync(page, "effect-risk");
    }
}
