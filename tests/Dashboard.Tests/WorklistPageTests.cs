using System.Text.Json;
using Microsoft.Playwright;

namespace Beacon.Dashboard.Tests;

/// <summary>Issue #25 in the browser: one worklist entry per student, reasons whose words agree with their direction, a case a counselor takes.</summary>
public sealed partial class DashboardTests
{
    private static readonly string[] Reassuring = ["less often", "no absence", "present on the latest"];
    private static readonly string[] Worrying = ["more often", "in a row", "absent on the latest"];

    [SkippableFact]
    public async Task Counselor_worklist_has_one_entry_per_student_with_names_and_mark_all_read_empties_it_of_news()
    {
        _name = "worklist";
        Skip.If(BrowserFixture.Unavailable is not null, BrowserFixture.Unavailable);
        var page = await SignInAsync("c-north-1");
        var items = page.Locator("#worklist > li");
        await Expect(items.First).ToBeVisibleAsync(new() { Timeout = (float)Wait.TotalMilliseconds });
        await ShotAsync(page, "worklist");

        // One entry per student: as many entries as distinct students, and as many as the service says (up to the page's 100).
        var students = await items.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.studentId)");
        Assert.Equal(students.Length, students.Distinct().Count());
        var api = await ApiAsync("c-north-1", "/api/notifications/v1/staff/c-north-1/worklist?limit=100");
        Assert.Equal(Math.Min(100, api.GetProperty("total").GetInt32()), students.Length);
        // The feed's risk alerts name no student the worklist does not hold, and never more students than entries.
        var feed = await ApiAsync("c-north-1", "/api/notifications/v1/staff/c-north-1/feed");
        var alerted = feed.GetProperty("entries").EnumerateArray().Where(e => e.GetProperty("kind").GetString() == "risk-alert")
            .Select(e => e.GetProperty("studentId").GetString()).Distinct().ToList();
        Assert.True(alerted.Count <= api.GetProperty("total").GetInt32(), $"{alerted.Count} students alerted, {api.GetProperty("total")} on the worklist");

        // Names, grade and school, never ids and kinds; the most urgent first.
        var first = items.First;
        var name = await first.Locator("a.title").TextContentAsync();
        Assert.NotEqual(students[0], name);
        await Expect(first).ToContainTextAsync("grade");
        await Expect(first).ToContainTextAsync("north");
        await Expect(first.Locator("ul.factors li").First).Not.ToContainTextAsync("chronic-absence");
        var levels = await items.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.level)");
        Assert.Equal(levels.OrderBy(l => l == "severe" ? 0 : 1), levels);

        // An entry's reasons: each kind of evidence once (the model merged with the indicator of the same evidence).
        foreach (var entry in api.GetProperty("entries").EnumerateArray())
        {
            var families = entry.GetProperty("reasons").EnumerateArray().Select(r => r.GetProperty("family").GetString()).ToList();
            Assert.Equal(families.Count, families.Distinct().Count());
            Assert.DoesNotContain(families, f => f!.EndsWith("-model", StringComparison.Ordinal));
        }

        await page.GetByRole(AriaRole.Button, new() { Name = "Mark all read" }).ClickAsync();
        await Expect(page.Locator("#worklist-digest")).ToContainTextAsync("Nothing new", new() { Timeout = (float)Wait.TotalMilliseconds });
        await Expect(page.Locator("#worklist > li.unread")).ToHaveCountAsync(0);
        Assert.Equal(0, (await ApiAsync("c-north-1", "/api/notifications/v1/staff/c-north-1/worklist")).GetProperty("unread").GetInt32());

        // The page ends where its content ends: hidden labels no longer stretch it into blank space.
        var height = await page.EvaluateAsync<double>("() => document.documentElement.scrollHeight");
        var bottom = await page.EvaluateAsync<double>("() => Math.max(...[...document.querySelectorAll('main > *')].map(e => e.getBoundingClientRect().bottom + window.scrollY))");
        Assert.True(height <= bottom + 200, $"the page is {height} px tall but its content ends at {bottom} px");
        await ShotAsync(page, "worklist-read");
    }

    [SkippableFact]
    public async Task Counselor_narrows_the_worklist_to_one_kind_of_reason_and_reads_it_by_name()
    {
        _name = "worklist-kinds";
        Skip.If(BrowserFixture.Unavailable is not null, BrowserFixture.Unavailable);
        var page = await SignInAsync("c-north-1");
        await Expect(page.Locator("#worklist > li").First).ToBeVisibleAsync(new() { Timeout = (float)Wait.TotalMilliseconds });
        var api = await ApiAsync("c-north-1", "/api/notifications/v1/staff/c-north-1/worklist?limit=1");
        // The kind with the most students that is not every student, so the filter visibly narrows the list.
        var (kind, count) = api.GetProperty("kinds").EnumerateObject().Select(k => (k.Name, Count: k.Value.GetInt32()))
            .Where(k => k.Count > 0).OrderByDescending(k => k.Count < api.GetProperty("total").GetInt32()).ThenByDescending(k => k.Count).First();

        var button = page.Locator($"#worklist-kinds button[data-kind='{kind}']");
        await Expect(button).ToContainTextAsync($"({count})");
        await button.ClickAsync();
        await Expect(page.Locator($"#worklist-kinds button[data-kind='{kind}']")).ToHaveAttributeAsync("aria-pressed", "true");
        var items = page.Locator("#worklist > li");
        await Expect(items).ToHaveCountAsync(Math.Min(100, count), new() { Timeout = (float)Wait.TotalMilliseconds });
        // Every student shown has a reason of that kind.
        var withKind = await items.EvaluateAllAsync<int>($"rows => rows.filter(r => r.querySelector(\"ul.factors li[data-family='{kind}']\")).length");
        Assert.Equal(Math.Min(100, count), withKind);
        await ShotAsync(page, "worklist-kind");

        // Another order, the filter kept.
        await page.Locator("#worklist-sort").SelectOptionAsync("name");
        await Expect(page.Locator("#worklist")).ToHaveAttributeAsync("aria-label", "Students to see, by name", new() { Timeout = (float)Wait.TotalMilliseconds });
        var names = await page.Locator("#worklist > li a.title").AllTextContentsAsync();
        Assert.Equal(names.Order(StringComparer.OrdinalIgnoreCase), names);
        Assert.Equal(Math.Min(100, count), names.Count);
        await page.Locator("#worklist-kinds button[data-kind='']").ClickAsync();
        await Expect(items).ToHaveCountAsync(Math.Min(100, api.GetProperty("total").GetInt32()), new() { Timeout = (float)Wait.TotalMilliseconds });
    }

    [SkippableFact]
    public async Task Risk_reasons_say_raises_only_with_words_of_risk_and_never_bookkeeping_or_zero_counts()
    {
        _name = "reasons";
        Skip.If(BrowserFixture.Unavailable is not null, BrowserFixture.Unavailable);
        var risks = (await ApiAsync("c-north-1", "/api/early-warning/v1/risks?schoolId=north&flaggedOnly=false&limit=200")).GetProperty("risks");
        Assert.True(risks.GetArrayLength() > 0, "the demo scored nobody in north");
        var checkedFactors = 0;
        foreach (var r in risks.EnumerateArray())
        {
            foreach (var f in r.GetProperty("factors").EnumerateArray())
            {
                AssertTrueReason(f.GetProperty("text").GetString()!, f.TryGetProperty("raisesRisk", out var up) && up.GetBoolean());
                checkedFactors++;
            }
        }
        Assert.True(checkedFactors > 0, "no factor to check");

        // The same on a student's page, where the direction is written beside the words.
        string? student = null;
        foreach (var r in risks.EnumerateArray().Where(r => r.GetProperty("factors").GetArrayLength() > 0))
        {
            if (await OnRosterAsync("c-north-1", r.GetProperty("studentId").GetString()!))
            {
                student = r.GetProperty("studentId").GetString();
                break;
            }
        }
        Assert.NotNull(student);
        var page = await SignInAsync("c-north-1");
        await page.GotoAsync($"{fixture.Gateway}#/student/{student}");
        var shown = page.Locator("#risk-factors li");
        await Expect(shown.First).ToBeVisibleAsync(new() { Timeout = (float)Wait.TotalMilliseconds });
        foreach (var text in await shown.AllTextContentsAsync())
        {
            Assert.True(text.EndsWith("(raises risk)", StringComparison.Ordinal) || text.EndsWith("(lowers risk)", StringComparison.Ordinal), text);
            AssertTrueReason(text, text.EndsWith("(raises risk)", StringComparison.Ordinal));
        }
        // The case shows the risk now, beside the reason it was opened for; mastery shows its evidence.
        await Expect(page.Locator("#case-risk-now")).ToContainTextAsync("%", new() { Timeout = (float)Wait.TotalMilliseconds });
        await ShotAsync(page, "reasons");
    }

    private static void AssertTrueReason(string text, bool raises)
    {
        Assert.DoesNotContain("school days recorded", text, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"(^|\D)0 (of|time|absence|separate|day)", text);
        Assert.DoesNotContain(raises ? Reassuring : Worrying, w => text.Contains(w, StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task Counselor_takes_an_unassigned_case_logs_a_contact_schedules_a_check_in_and_the_coordinator_sees_who_took_it()
    {
        _name = "take";
        Skip.If(BrowserFixture.Unavailable is not null, BrowserFixture.Unavailable);
        var cases = await ApiAsync("c-north-2", "/api/interventions/v1/cases?schoolId=north&status=open");
        JsonElement open = default;
        foreach (var c in cases.GetProperty("cases").EnumerateArray().Where(c => c.GetProperty("assignedTo").GetString() is null or ""))
        {
            if (await OnRosterAsync("c-north-2", c.GetProperty("studentId").GetString()!))
            {
                open = c;
                break;
            }
        }
        Assert.True(open.ValueKind == JsonValueKind.Object, "no unassigned case of a demo student in north");
        var caseId = open.GetProperty("caseId").GetString()!;
        var page = await SignInAsync("c-north-2");
        await page.GotoAsync($"{fixture.Gateway}#/student/{open.GetProperty("studentId").GetString()}");
        await page.GetByRole(AriaRole.Button, new() { Name = "Take this case" }).ClickAsync();
        await Expect(page.Locator("#case-owner")).ToContainTextAsync("c-north-2", new() { Timeout = (float)Wait.TotalMilliseconds });
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Take this case" })).ToHaveCountAsync(0);
        // Whom to call, as the demo's OneRoster bundle names them (users with role parent, guardian or relative linked by
        // agentSourcedIds): a parent or guardian first, each with a number to call, as the API answers.
        var family = await ApiAsync("c-north-2", $"/api/interventions/v1/cases/{caseId}/family");
        var contacts = family.GetProperty("contacts").EnumerateArray().ToList();
        Assert.InRange(contacts.Count, 1, 2);
        Assert.Contains(contacts[0].GetProperty("relationship").GetString(), new[] { "parent", "guardian" });
        await Expect(page.Locator("#case-family li")).ToHaveCountAsync(contacts.Count);
        await Expect(page.Locator("#case-family li").First).ToContainTextAsync($"{contacts[0].GetProperty("givenName").GetString()} {contacts[0].GetProperty("familyName").GetString()}");
        await Expect(page.Locator($"#case-family li a[href='tel:{contacts[0].GetProperty("phone").GetString()}']")).ToBeVisibleAsync();

        // The plan form is there at once, and a contact and the next check-in go in from the same page (by id: "With"
        // and "Next check-in" also name other controls and forms).
        await page.Locator("#plan-goal").FillAsync("Attend every morning");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save plan" }).ClickAsync();
        await Expect(page.Locator("#case-status")).ToContainTextAsync("Plan saved", new() { Timeout = (float)Wait.TotalMilliseconds });
        await page.Locator("#contact-with").SelectOptionAsync("parent-guardian");
        await page.Locator("#contact-how").SelectOptionAsync("meeting");
        await page.Locator("#contact-note").FillAsync("Agreed on a morning routine.");
        await page.GetByRole(AriaRole.Button, new() { Name = "Log contact" }).ClickAsync();
        await Expect(page.Locator("#case-history")).ToContainTextAsync("Meeting with parent/guardian. Agreed on a morning routine.", new() { Timeout = (float)Wait.TotalMilliseconds });
        var next = DateTime.UtcNow.AddDays(7).ToString("yyyy-MM-dd");
        await page.Locator("#check-in-date").FillAsync(next);
        await page.GetByRole(AriaRole.Button, new() { Name = "Schedule check-in" }).ClickAsync();
        await Expect(page.Locator("#case-next-check-in")).ToHaveTextAsync(next, new() { Timeout = (float)Wait.TotalMilliseconds });
        await ShotAsync(page, "taken");

        var seen = await GetCaseAsync("coord-north", caseId);
        Assert.Equal(("c-north-2", "c-north-2", next), (seen.GetProperty("assignedTo").GetString(), seen.GetProperty("takenBy").GetString(), seen.GetProperty("nextCheckIn").GetString()));
        Assert.False(string.IsNullOrEmpty(seen.GetProperty("firstContactAt").GetString()));
        var history = await ApiAsync("coord-north", $"/api/interventions/v1/cases/{caseId}/activity");
        Assert.Contains(history.GetProperty("activity").EnumerateArray(), a => a.GetProperty("kind").GetString() == "taken" && a.GetProperty("by").GetString() == "c-north-2");
    }
}
