using System.Text;
using System.Text.Json;
using Microsoft.Playwright;

namespace Beacon.Dashboard.Tests;

/// <summary>Issue #20 item 5 in the browser: find a student from the header's search box; export what a list shows as CSV.</summary>
public sealed partial class DashboardTests
{
    [SkippableFact]
    public async Task Counselor_finds_a_student_by_name_from_any_page_and_opens_the_student()
    {
        _name = "search";
        Skip.If(BrowserFixture.Unavailable is not null, BrowserFixture.Unavailable);
        // A student of north, by the roster's own answer; searched for by "family given", lower case.
        var flagged = await ApiAsync("c-north-1", "/api/early-warning/v1/risks?schoolId=north&flaggedOnly=false&limit=20");
        JsonElement? known = null;
        foreach (var r in flagged.GetProperty("risks").EnumerateArray())
        {
            var (status, body) = await GetAsync("c-north-1", $"/api/ingestion/v1/students/{r.GetProperty("studentId").GetString()}");
            if (status == System.Net.HttpStatusCode.OK)
            {
                known = JsonDocument.Parse(body).RootElement.Clone();
                break;
            }
        }
        Assert.NotNull(known);
        var id = known.Value.GetProperty("studentId").GetString()!;
        var words = $"{known.Value.GetProperty("familyName").GetString()} {known.Value.GetProperty("givenName").GetString()}".ToLowerInvariant();

        var page = await SignInAsync("c-north-1");
        await page.Locator("#search-q").FillAsync(words);
        await page.Locator("#search-q").PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Find a student" })).ToBeVisibleAsync();
        var row = page.Locator($"#search-results tr[data-student-id='{id}']");
        await Expect(row).ToBeVisibleAsync();
        // Every row the page lists is one the API finds for this counselor, none from another school.
        var api = await ApiAsync("c-north-1", $"/api/ingestion/v1/students?q={Uri.EscapeDataString(words)}&limit=50");
        var shown = await page.Locator("#search-results tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.studentId)");
        Assert.Equal(api.GetProperty("students").EnumerateArray().Select(s => s.GetProperty("studentId").GetString()), shown);
        Assert.All(api.GetProperty("students").EnumerateArray(), s => Assert.Equal("north", s.GetProperty("schoolId").GetString()));
        await ShotAsync(page, "search-results");

        await row.GetByRole(AriaRole.Link).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex($"#/student/{id}$"));

        // Nothing found says so in words; too short a query is not sent.
        await page.GotoAsync($"{fixture.Gateway}#/search/{Uri.EscapeDataString("zz-nobody-zz")}");
        await Expect(page.Locator("main")).ToContainTextAsync("No student of your schools matches");
    }

    [SkippableFact]
    public async Task Counselor_downloads_the_flagged_students_as_csv_with_names_and_ops_the_data_quality_report()
    {
        _name = "export";
        Skip.If(BrowserFixture.Unavailable is not null, BrowserFixture.Unavailable);
        var page = await SignInAsync("c-north-1");
        var button = page.Locator("#flagged-csv");
        await Expect(button).ToBeVisibleAsync();
        var download = await page.RunAndWaitForDownloadAsync(() => button.ClickAsync());
        Assert.Matches(@"^flagged-students-\d{4}-\d{2}-\d{2}\.csv$", download.SuggestedFilename);
        var lines = await LinesAsync(download);
        Assert.Equal("student_id,student_name,school_id,kind,risk_band,risk_score,flagged,factor_1,factor_2,factor_3,scored_at", lines[0]);
        // Every flagged student of the counselor's schools, as the risk API lists them (the table shows the first 50).
        var risks = await ApiAsync("c-north-1", "/api/early-warning/v1/risks?schoolId=north&flaggedOnly=true&limit=5000");
        var flagged = risks.GetProperty("risks").EnumerateArray().Select(r => r.GetProperty("studentId").GetString()!).Order().ToList();
        Assert.NotEmpty(flagged);
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToList();
        Assert.Equal(flagged, rows.Select(r => r[0]).Order().ToList());
        Assert.All(rows, r => Assert.Equal("yes", r[6]));
        // Names filled in from the roster, not the id again.
        Assert.Contains(rows, r => r[1] != r[0] && r[1].Length > 0);

        var ops = await SignInAsync("ops-1");
        var report = ops.Locator("#data-quality-csv");
        await Expect(report).ToBeVisibleAsync();
        var file = await ops.RunAndWaitForDownloadAsync(() => report.ClickAsync());
        Assert.Matches(@"^data-quality-\d{4}-\d{2}-\d{2}\.csv$", file.SuggestedFilename);
        Assert.Equal("day,source,kind,batches,received,accepted,unchanged,corrected,rejected,late_arrivals,rejected_by_field", (await LinesAsync(file))[0]);
        await ShotAsync(ops, "ops-data-quality");
    }

    private static async Task<string[]> LinesAsync(IDownload download)
    {
        var path = await download.PathAsync();
        var text = await File.ReadAllTextAsync(path!, Encoding.UTF8);
        return text.TrimStart('\uFEFF').Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
    }
}
