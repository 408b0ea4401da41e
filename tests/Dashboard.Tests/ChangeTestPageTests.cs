using Microsoft.Playwright;

namespace Beacon.Dashboard.Tests;

/// <summary>
/// Issue #27 item 3 in the browser: a coordinator starts a test of change from their page (two message wordings among the
/// active cases of their school), sees it listed as running until its window ends, and a counselor reads the assignment
/// and its explanation in the case's history.
/// </summary>
public sealed partial class DashboardTests
{
    [SkippableFact]
    public async Task Coordinator_starts_a_test_of_change_and_the_counselor_reads_the_assignment_on_the_case()
    {
        _name = "tests-of-change";
        Skip.If(BrowserFixture.Unavailable is not null, BrowserFixture.Unavailable);
        var run = Guid.NewGuid().ToString("N")[..6];
        var page = await SignInAsync("coord-north");
        var section = page.Locator("#tests-of-change");
        await Expect(section.GetByRole(AriaRole.Heading, new() { Name = "Tests of change" })).ToBeVisibleAsync(new() { Timeout = (float)Wait.TotalMilliseconds });
        await section.GetByLabel("Name").FillAsync($"Which wording {run}");
        await section.GetByLabel("Arms").FillAsync("We miss you at school.\nEvery day counts for your child.");
        await section.GetByLabel("Window (days)").FillAsync("14");
        await section.GetByRole(AriaRole.Button, new() { Name = "Start the test" }).ClickAsync();
        await Expect(section).ToContainTextAsync($"Test \"Which wording {run}\" started", new() { Timeout = (float)Wait.TotalMilliseconds });
        var card = section.Locator("article.change-test", new() { HasText = $"Which wording {run}" });
        await Expect(card).ToContainTextAsync("The window ends on", new() { Timeout = (float)Wait.TotalMilliseconds });
        await ShotAsync(page, "tests-of-change");

        // Through the API: the test, and one of its cases whose history the counselor reads on the student's page.
        var tests = await ApiAsync("coord-north", "/api/interventions/v1/tests-of-change");
        var test = tests.EnumerateArray().Single(t => t.GetProperty("name").GetString() == $"Which wording {run}");
        Assert.Equal(["A", "B"], test.GetProperty("arms").EnumerateArray().Select(a => a.GetProperty("label").GetString()));
        var cases = await ApiAsync("c-north-1", "/api/interventions/v1/cases?schoolId=north&status=open");
        string? student = null, caseId = null;
        foreach (var c in cases.GetProperty("cases").EnumerateArray())
        {
            var id = c.GetProperty("caseId").GetString()!;
            var parts = await ApiAsync("c-north-1", $"/api/interventions/v1/cases/{id}/tests-of-change");
            if (parts.EnumerateArray().Any(p => p.GetProperty("name").GetString() == $"Which wording {run}") && await OnRosterAsync("c-north-1", c.GetProperty("studentId").GetString()!))
            {
                (student, caseId) = (c.GetProperty("studentId").GetString(), id);
                break;
            }
        }
        Assert.NotNull(caseId);
        var counselor = await SignInAsync("c-north-1");
        await counselor.GotoAsync($"{fixture.Gateway}#/student/{student}");
        await Expect(counselor.Locator("#case-history")).ToContainTextAsync($"of the test of change \"Which wording {run}\" so the district can learn which works; you may still act as you judge best",
            new() { Timeout = (float)Wait.TotalMilliseconds });
        await ShotAsync(counselor, "tests-of-change-case");
    }
}
