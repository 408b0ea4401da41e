using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Beacon.Testing;
using Microsoft.Playwright;

namespace Beacon.Dashboard.Tests;

/// <summary>
/// Issue #27 in the browser: the SIS feed sends a class for the demo teacher (OneRoster), the learning platform sends this
/// week's answers; the teacher sees the section's failing skill, who struggles with it and why, and starts a group
/// intervention from the page.
/// </summary>
public sealed partial class DashboardTests
{
    [SkippableFact]
    public async Task Teacher_sees_the_sections_failing_skill_with_evidence_and_starts_a_group_intervention()
    {
        _name = "teacher-week";
        Skip.If(BrowserFixture.Unavailable is not null, BrowserFixture.Unavailable);
        var run = Guid.NewGuid().ToString("N")[..6];
        var (section, skill) = ($"cl-{run}", $"fractions-{run}");
        var risks = await ApiAsync("c-north-1", "/api/early-warning/v1/risks?schoolId=north&flaggedOnly=false&limit=50");
        var students = new List<string>();
        foreach (var r in risks.GetProperty("risks").EnumerateArray())
        {
            var id = r.GetProperty("studentId").GetString()!;
            if (students.Count < 4 && await OnRosterAsync("c-north-1", id))
            {
                students.Add(id);
            }
        }
        Assert.Equal(4, students.Count);

        using var http = new HttpClient { BaseAddress = fixture.Gateway };
        using var tokenResponse = await http.PostAsJsonAsync("/auth/dev/token", new { user = "feed-sis" });
        tokenResponse.EnsureSuccessStatusCode();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
            (await tokenResponse.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString());
        using var form = new MultipartFormDataContent();
        void Csv(string name, string text) => form.Add(new StringContent(text, Encoding.UTF8, "text/csv"), "files", name);
        Csv("users.csv", "sourcedId,status,orgSourcedIds,role,givenName,familyName,email\nt-north-1,active,north,teacher,Tess,North,t-north-1@example.edu\n");
        Csv("classes.csv", $"sourcedId,status,title,schoolSourcedId\n{section},active,Maths 7 {run},north\n");
        Csv("enrollments.csv", "sourcedId,status,classSourcedId,schoolSourcedId,userSourcedId,role\n" + $"en-{run}-t,active,{section},north,t-north-1,teacher\n"
            + string.Concat(students.Select((s, i) => $"en-{run}-{i},active,{section},north,{s},student\n")));
        using (var roster = await http.PostAsync("/api/ingestion/v1/oneroster", form))
        {
            Assert.True(roster.IsSuccessStatusCode, await roster.Content.ReadAsStringAsync());
        }
        // This week: the first two students get fractions wrong again and again (with hints), the others right.
        var now = DateTimeOffset.UtcNow;
        var answers = students.SelectMany((s, i) => Enumerable.Range(0, 4).Select(k => new
        {
            studentId = s,
            itemId = $"frac-{run}-{k % 2}",
            skillIds = new[] { skill },
            correct = i >= 2,
            attemptNumber = 1 + k / 2,
            hintsUsed = i < 2 ? 1 : 0,
            timeOnTaskSeconds = 40,
            answeredAt = now.AddMinutes(-4 + k),
        })).ToList();
        using (var posted = await http.PostAsJsonAsync("/api/ingestion/v1/item-responses", new { responses = answers }))
        {
            Assert.True(posted.IsSuccessStatusCode, await posted.Content.ReadAsStringAsync());
        }

        // The section and the answers travel through the broker into Mastery: the teacher's week has them before the page opens.
        await Eventually.WaitAsync(async () => (await GetAsync("t-north-1", $"/api/mastery/v1/sections/{section}/week")) is (System.Net.HttpStatusCode.OK, var week)
                ? JsonDocument.Parse(week).RootElement.GetProperty("answersThisWeek").GetInt32() : 0,
            n => n == answers.Count, TimeSpan.FromSeconds(90));

        var page = await SignInAsync("t-north-1");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "My sections" })).ToBeVisibleAsync();
        await page.Locator("#teacher-section").SelectOptionAsync(section);
        var row = page.Locator($"#top-skills tr[data-skill-id='{skill}']");
        await Expect(row).ToHaveCountAsync(1, new() { Timeout = (float)Wait.TotalMilliseconds });
        await Expect(row).ToContainTextAsync("50 %");
        var card = page.Locator($"#week-struggling .card[data-skill-id='{skill}']");
        await Expect(card.Locator(".struggling-students > li")).ToHaveCountAsync(2);
        await Expect(card.Locator(".struggling-students > li").First).ToContainTextAsync("4 of 4 wrong this week, 4 hints");
        await Expect(page.Locator("#repeated-items")).ToContainTextAsync($"frac-{run}-0");
        await ShotAsync(page, "teacher-week");

        await card.Locator("select[name='type']").SelectOptionAsync("small-group");
        await card.Locator("select[name='durationWeeks']").SelectOptionAsync("2");
        await card.GetByRole(AriaRole.Button, new() { Name = "Start group intervention" }).ClickAsync();
        await Expect(card.Locator(".group-status")).ToContainTextAsync("Started: small-group session", new() { Timeout = (float)Wait.TotalMilliseconds });
        await Expect(page.Locator("#week-effect")).ToContainTextAsync("still running", new() { Timeout = (float)Wait.TotalMilliseconds });
        await ShotAsync(page, "teacher-group");
        // The page with everything on it passes axe (WCAG A/AA): no serious or critical violation.
        await Expect(page.Locator("main p.muted:has-text('Loading')")).ToHaveCountAsync(0, new() { Timeout = (float)Wait.TotalMilliseconds });
        var axe = await RunAxeAsync(page);
        Assert.Empty(axe.Violations.Where(v => v.Impact is "serious" or "critical").Select(v => $"{v.Id}: {v.Help} ({string.Join(", ", v.Nodes.Take(3).Select(n => n.Html))})"));

        var groups = await ApiAsync("t-north-1", $"/api/interventions/v1/group-interventions?sectionId={section}");
        var group = Assert.Single(groups.EnumerateArray());
        Assert.Equal(("small-group", skill, 2), (group.GetProperty("type").GetString(), group.GetProperty("skillId").GetString(), group.GetProperty("studentIds").GetArrayLength()));
        Assert.Equal("t-north-1", group.GetProperty("createdBy").GetString());
        // A counselor has no teacher page.
        var counselor = await SignInAsync("c-north-1");
        await Expect(counselor.Locator("nav a[href='#/teacher']")).ToHaveCountAsync(0);
    }
}
