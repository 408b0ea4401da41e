using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Testing;
using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Beacon.Dashboard.Tests;

/// <summary>
/// The dashboard in a real browser against the real platform with its demo district: each role signs
/// in through the development issuer, sees its page and does one thing; a screenshot of each step is
/// saved under the test output's screenshots/ folder (paths printed in the test output).
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed partial class DashboardTests(BrowserFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly List<IBrowserContext> _contexts = [];
    private bool _finished;
    private readonly List<string> _policyViolations = [];

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Each page's last state is saved too (the screenshot to look at when a test fails), then its context closed.</summary>
    public async Task DisposeAsync()
    {
        var n = 0;
        foreach (var context in _contexts)
        {
            foreach (var page in context.Pages)
            {
                await ShotAsync(page, $"{_name}-last-{++n}");
            }
        }
        _finished = true;
        foreach (var context in _contexts)
        {
            await context.CloseAsync();
        }
        // The gateway's Content-Security-Policy allows no inline script or style: anything it blocked is a broken page.
        Assert.Empty(_policyViolations);
    }

    private string _name = "test";

    [SkippableFact]
    public async Task Coordinator_assigns_a_new_alert_and_the_counselor_sees_it_live_then_marks_a_false_alarm()
    {
        _name = "coordinator";
        Skip.If(BrowserFixture.Unavailable is not null, BrowserFixture.Unavailable);

        // The counselor's page is open first: the assignment must arrive through the live feed, without a reload.
        var counselor = await SignInAsync("c-north-1");
        await Expect(counselor.GetByRole(AriaRole.Heading, new() { Name = "Updates for me" })).ToBeVisibleAsync();
        await Expect(counselor.Locator("#worklist > li").First).ToBeVisibleAsync(new() { Timeout = (float)Wait.TotalMilliseconds });
        await Expect(counselor.GetByText("● live")).ToBeVisibleAsync(new() { Timeout = (float)Wait.TotalMilliseconds });
        await ShotAsync(counselor, "counselor-before");

        var coordinator = await SignInAsync("coord-north");
        await Expect(coordinator.GetByRole(AriaRole.Heading, new() { Name = "New alerts, not assigned yet" })).ToBeVisibleAsync();
        await Expect(coordinator.Locator("#unassigned tbody tr").First).ToBeVisibleAsync(new() { Timeout = (float)Wait.TotalMilliseconds });
        // Take a demo student on this coordinator's roster (the demo's alerts cover several schools).
        string? studentId = null;
        foreach (var id in await coordinator.Locator("#unassigned tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.studentId)"))
        {
            if (await OnRosterAsync("coord-north", id))
            {
                studentId = id;
                break;
            }
        }
        Assert.NotNull(studentId);
        var firstRow = coordinator.Locator($"#unassigned tbody tr[data-student-id='{studentId}']");
        var caseId = await firstRow.GetAttributeAsync("data-case-id");
        Assert.False(string.IsNullOrEmpty(caseId));
        await ShotAsync(coordinator, "coordinator-unassigned");

        await firstRow.GetByRole(AriaRole.Checkbox).CheckAsync();
        await coordinator.GetByLabel("Assign the selected cases to").SelectOptionAsync("c-north-1");
        await coordinator.GetByRole(AriaRole.Button, new() { Name = "Assign selected" }).ClickAsync();
        await Expect(coordinator.Locator("#assign-status")).ToContainTextAsync("1 case assigned to", new() { Timeout = (float)Wait.TotalMilliseconds });
        await Expect(coordinator.Locator($"#unassigned tr[data-case-id='{caseId}']")).ToHaveCountAsync(0);
        await ShotAsync(coordinator, "coordinator-assigned");

        var assigned = await GetCaseAsync("coord-north", caseId!);
        Assert.Equal("c-north-1", assigned.GetProperty("assignedTo").GetString());
        Assert.Equal("assigned", assigned.GetProperty("status").GetString());

        // Live: Notifications tells the owner; the entry is pushed over server-sent events into the open page.
        // (The demo's own alerts may still be arriving: look for this assignment, not for a count.)
        await Expect(counselor.Locator($"#feed li[data-kind='case-assigned'][data-student-id='{studentId}']")).ToHaveCountAsync(1, new() { Timeout = (float)Wait.TotalMilliseconds });
        await ShotAsync(counselor, "counselor-live-assignment");

        // The case is in the counselor's caseload after a reload; on the student's page it is marked a false alarm.
        await counselor.ReloadAsync();
        var mine = counselor.Locator($"#caseload tr[data-case-id='{caseId}']");
        await Expect(mine).ToBeVisibleAsync(new() { Timeout = (float)Wait.TotalMilliseconds });
        await mine.GetByRole(AriaRole.Link).ClickAsync();
        await Expect(counselor.Locator("#risk-factors li").First).ToBeVisibleAsync(new() { Timeout = (float)Wait.TotalMilliseconds });
        // Both models speak on the student's page: the demo's dropout model scores every student with signals.
        await Expect(counselor.Locator("#dropout-score")).ToContainTextAsync("chance of dropping out", new() { Timeout = (float)Wait.TotalMilliseconds });
        await Expect(counselor.GetByRole(AriaRole.Img, new() { Name = "Attendance rate by week" })).ToBeVisibleAsync();
        await ShotAsync(counselor, "counselor-student");
        await counselor.GetByRole(AriaRole.Button, new() { Name = "Mark as false alarm" }).ClickAsync();
        await Expect(counselor.Locator("#case-outcome")).ToHaveTextAsync("false-alarm", new() { Timeout = (float)Wait.TotalMilliseconds });
        await ShotAsync(counselor, "counselor-false-alarm");

        var closed = await GetCaseAsync("c-north-1", caseId!);
        Assert.Equal("closed", closed.GetProperty("status").GetString());
        Assert.Equal("false-alarm", closed.GetProperty("outcome").GetString());
    }

    [SkippableFact]
    public async Task Counselor_adds_a_contact_note_to_a_case()
    {
        _name = "counselor";
        Skip.If(BrowserFixture.Unavailable is not null, BrowserFixture.Unavailable);
        var page = await SignInAsync("c-south-1");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Students flagged in my schools" })).ToBeVisibleAsync();
        // A south student with a case (the demo's alerts open them); the counselor records a contact on it.
        var cases = await ApiAsync("c-south-1", "/api/interventions/v1/cases?schoolId=south&status=open");
        JsonElement open = default;
        foreach (var c in cases.GetProperty("cases").EnumerateArray())
        {
            if (await OnRosterAsync("c-south-1", c.GetProperty("studentId").GetString()!))
            {
                open = c;
                break;
            }
        }
        Assert.True(open.ValueKind == JsonValueKind.Object, "the demo opened no case in school south");
        var caseId = open.GetProperty("caseId").GetString()!;
        await page.GotoAsync($"{fixture.Gateway}#/student/{open.GetProperty("studentId").GetString()}");
        await page.GetByLabel("Note", new() { Exact = true }).FillAsync("Called home; mother says he has been ill.");
        await page.GetByLabel("This note records a contact").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Add note" }).ClickAsync();
        await Expect(page.Locator("#case-history")).ToContainTextAsync("Called home", new() { Timeout = (float)Wait.TotalMilliseconds });
        await ShotAsync(page, "counselor-note");
        var after = await GetCaseAsync("c-south-1", caseId);
        Assert.False(string.IsNullOrEmpty(after.GetProperty("firstContactAt").GetString()));
    }

    [SkippableFact]
    public async Task Teacher_view_shows_students_struggling_per_skill()
    {
        _name = "teacher";
        Skip.If(BrowserFixture.Unavailable is not null, BrowserFixture.Unavailable);
        var page = await SignInAsync("coord-district");
        await page.GetByRole(AriaRole.Link, new() { Name = "Mastery" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Students struggling, by skill" })).ToBeVisibleAsync();
        // The demo's item responses leave some students struggling: "N students struggling with <skill>".
        await Expect(page.Locator("#struggling summary").First).ToContainTextAsync("struggling with", new() { Timeout = (float)Wait.TotalMilliseconds });
        await Expect(page.GetByRole(AriaRole.Img, new() { Name = "Share of wrong answers per skill" })).ToBeVisibleAsync();
        await page.GetByLabel("School").SelectOptionAsync("south");
        await Expect(page.Locator("#struggling summary").First).ToContainTextAsync("struggling with", new() { Timeout = (float)Wait.TotalMilliseconds });
        await page.Locator("#struggling summary").First.ClickAsync();
        await ShotAsync(page, "teacher-mastery");
    }

    [SkippableFact]
    public async Task Ops_trains_and_promotes_a_model()
    {
        _name = "ops";
        Skip.If(BrowserFixture.Unavailable is not null, BrowserFixture.Unavailable);
        var page = await SignInAsync("ops-1");
        // The demo promotes one model of each kind (chronic absence, dropout); the page trains the kind it shows.
        await Expect(page.Locator("#registry tr[data-status='active']")).ToHaveCountAsync(2, new() { Timeout = (float)Wait.TotalMilliseconds });
        await Expect(page.Locator("#registry tr[data-status='active'][data-kind='dropout']")).ToHaveCountAsync(1);
        await ShotAsync(page, "ops-registry");

        // The versions already registered, by id: the demo's term drifts against its baseline, so a drift check run by another
        // test may have started a retraining job whose candidate registers at any moment; the one trained here is the new id.
        var before = await page.Locator("#registry tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.modelId)");
        await page.GetByRole(AriaRole.Button, new() { Name = "Train a candidate" }).ClickAsync();
        var fresh = $"#registry tr[data-status='candidate']{string.Concat(before.Select(id => $":not([data-model-id='{id}'])"))}";
        var candidate = page.Locator(fresh).First;
        await Expect(candidate).ToBeVisibleAsync(new() { Timeout = 60_000 });
        Assert.True(await page.Locator("#registry tbody tr").CountAsync() >= before.Length + 1);
        var modelId = await candidate.GetAttributeAsync("data-model-id");
        await page.Locator($"#registry tr[data-model-id='{modelId}']").GetByRole(AriaRole.Button).ClickAsync();
        await Expect(page.Locator($"#registry tr[data-model-id='{modelId}']")).ToHaveAttributeAsync("data-status", "active", new() { Timeout = (float)Wait.TotalMilliseconds });
        await ShotAsync(page, "ops-promoted");
        var model = await ApiAsync("ops-1", $"/api/early-warning/v1/models/{modelId}");
        Assert.Equal("active", model.GetProperty("status").GetString());
    }

    /// <summary>
    /// ops-1: every monitoring section shows the demo's real figures or its honest empty state (never an error),
    /// a drift check run from the page adds runs, and a district threshold (flag the top 15 %) changes the threshold in use.
    /// </summary>
    [SkippableFact]
    public async Task Ops_sees_model_monitoring_runs_a_drift_check_and_sets_a_district_threshold()
    {
        _name = "ops-monitoring";
        Skip.If(BrowserFixture.Unavailable is not null, BrowserFixture.Unavailable);
        // ./beacon up's demo backfills a term of monitoring history once Early warning has digested the attendance: on first
        // open the drift chart has the term's checks (one per school day from day 30 on), not one dot.
        static int Days(JsonElement runs) => runs.EnumerateArray().Select(r => r.GetProperty("asOf").GetString()).Distinct().Count();
        var demoDays = await Eventually.WaitAsync(async () => Days(await ApiAsync("ops-1", "/api/early-warning/v1/monitoring/drift")), n => n > 1, TimeSpan.FromMinutes(6));
        Assert.True(demoDays > 1, $"the demo's monitoring backfill gave drift checks of {demoDays} day(s) within 6 minutes");
        var demoHistory = await ApiAsync("ops-1", "/api/early-warning/v1/monitoring/drift");
        Assert.Contains(demoHistory.EnumerateArray(), r => r.GetProperty("backfilled").GetBoolean());

        var page = await SignInAsync("ops-1");
        foreach (var part in new[] { "drift", "report", "calibration", "fairness", "feedback", "challenger" })
        {
            var body = page.Locator($"section[data-monitoring='{part}']");
            await Expect(body.Locator("p.muted:has-text('Loading')")).ToHaveCountAsync(0, new() { Timeout = (float)Wait.TotalMilliseconds });
            await Expect(body.Locator(".message.error")).ToHaveCountAsync(0);
        }
        // The demo has scores but no outcome labels: expected figures by week, realised ones honestly absent.
        var weeks = await ApiAsync("ops-1", "/api/early-warning/v1/monitoring/report");
        Assert.True(weeks.GetArrayLength() > 0, "the demo's scores gave no weekly report");
        await Expect(page.Locator("#report-weeks tbody tr")).ToHaveCountAsync(weeks.GetArrayLength());
        await Expect(page.GetByRole(AriaRole.Img, new() { Name = "Expected" })).ToBeVisibleAsync();
        var labelled = weeks.EnumerateArray().Any(w => w.GetProperty("labelled").GetInt32() > 0);
        await Expect(page.Locator("#report-unlabelled")).ToHaveCountAsync(labelled ? 0 : 1);
        var calibration = await ApiAsync("ops-1", "/api/early-warning/v1/monitoring/calibration");
        await Expect(page.Locator("#calibration-empty")).ToHaveCountAsync(calibration.GetProperty("students").GetInt32() == 0 ? 1 : 0);
        await Expect(page.GetByRole(AriaRole.Img, new() { Name = "Held-out reliability of" })).ToBeVisibleAsync();
        var fairness = (await ApiAsync("ops-1", "/api/early-warning/v1/monitoring/fairness")).GetProperty("report").GetProperty("groups");
        var suppressed = fairness.EnumerateArray().Count(g => g.GetProperty("suppressed").GetBoolean());
        await Expect(page.Locator("#fairness-groups tr[data-suppressed='true']")).ToHaveCountAsync(suppressed);
        await Expect(page.Locator("#challenger-table")).ToBeVisibleAsync();

        // Drift: the chart, the history, the latest run's inputs; a check run now adds rows (training, and the baseline once pinned).
        var drift = page.Locator("section[data-monitoring='drift']");
        await Expect(drift.GetByRole(AriaRole.Img, new() { Name = "Score drift (PSI) over time" })).ToBeVisibleAsync();
        // The axes, read from the SVG the page shows (the same chart route): dated ticks, PSI from 0 through the significant band, the bands'
        // legend; the false-positive rate on 0–1.
        var driftTexts = await ChartTextsAsync("drift.svg");
        Assert.Contains(driftTexts, t => System.Text.RegularExpressions.Regex.IsMatch(t, @"^\d{4}-\d{2}-\d{2}$"));
        Assert.Contains("0", driftTexts);
        Assert.Contains(driftTexts, t => t.StartsWith("stable (below 0.10)", StringComparison.Ordinal));
        Assert.Contains(driftTexts, t => t.StartsWith("significant (above 0.25)", StringComparison.Ordinal));
        // More than one check on the chart: its dated ticks span the backfilled history (weeks), not the fortnight drawn around one point.
        var ticks = driftTexts.Select(t => DateOnly.TryParseExact(t, "yyyy-MM-dd", out var d) ? d : (DateOnly?)null).OfType<DateOnly>().ToArray();
        Assert.True(ticks.Max().DayNumber - ticks.Min().DayNumber > 14, $"drift.svg's date ticks {string.Join(", ", ticks)} do not span the demo's term");
        await Expect(page.Locator("#drift-backfilled")).ToBeVisibleAsync();
        // And points: the baseline's chart (the one the page shows first) draws a marker per check, beside its one legend marker.
        var (baselineStatus, baselineSvg) = await GetAsync("ops-1", "/api/early-warning/v1/monitoring/charts/drift.svg?kind=chronic-absence&reference=baseline");
        Assert.Equal(HttpStatusCode.OK, baselineStatus);
        var markers = System.Xml.Linq.XDocument.Parse(baselineSvg).Descendants().Count(e => e.Name.LocalName == "ellipse");
        var baselineChecks = demoHistory.EnumerateArray().Count(r => r.GetProperty("reference").GetString() == "baseline");
        Assert.True(markers - 1 > 1 && markers - 1 >= baselineChecks, $"the baseline drift chart draws {markers - 1} point(s) for {baselineChecks} checks");
        var fprTexts = await ChartTextsAsync("fpr.svg");
        Assert.Contains("0", fprTexts);
        Assert.Contains("1", fprTexts);
        await Expect(drift.Locator(".drift-latest tbody tr").First).ToBeVisibleAsync();
        var before = await ApiAsync("ops-1", "/api/early-warning/v1/monitoring/drift");
        await Expect(page.Locator("#drift-runs tbody tr")).ToHaveCountAsync(Math.Min(30, before.GetArrayLength()));
        // Every run known before the click (the table shows the 30 newest of the term's history).
        var known = before.EnumerateArray().Select(r => r.GetProperty("runId").GetString()!).ToArray();
        await ShotAsync(page, "ops-monitoring");
        await page.GetByRole(AriaRole.Button, new() { Name = "Run a drift check now" }).ClickAsync();
        await Expect(page.Locator("#drift-status")).ToContainTextAsync("Drift checked", new() { Timeout = 60_000 });
        var after = await ApiAsync("ops-1", "/api/early-warning/v1/monitoring/drift");
        var added = after.EnumerateArray().Select(r => r.GetProperty("runId").GetString()!).Where(id => !known.Contains(id)).ToArray();
        Assert.NotEmpty(added);
        await Expect(page.Locator($"#drift-runs tbody tr[data-run-id='{added[0]}']")).ToBeVisibleAsync();
        await ShotAsync(page, "ops-drift-run");

        // Threshold: a bad target is refused in words and changes nothing; flag the top 15 % is taken and shown in use.
        var threshold = page.Locator("#threshold");
        var inUse = await page.Locator("#threshold-in-use").GetAttributeAsync("data-threshold");
        await threshold.GetByLabel("Share of students to flag (%)").FillAsync("150");
        await threshold.GetByRole(AriaRole.Button, new() { Name = "Set threshold" }).ClickAsync();
        await Expect(page.Locator("#threshold-status .message.error")).ToContainTextAsync("between 0 and 1");
        Assert.Equal(inUse, await page.Locator("#threshold-in-use").GetAttributeAsync("data-threshold"));
        await threshold.GetByLabel("Share of students to flag (%)").FillAsync("15");
        await threshold.GetByRole(AriaRole.Button, new() { Name = "Set threshold" }).ClickAsync();
        await Expect(page.Locator("#threshold-status .message.ok")).ToContainTextAsync("now uses threshold", new() { Timeout = (float)Wait.TotalMilliseconds });
        await Expect(page.Locator("#threshold-in-use")).ToContainTextAsync("flag the top share of students 15.0 %");
        var models = await ApiAsync("ops-1", "/api/early-warning/v1/models?kind=chronic-absence");
        var active = models.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("status").GetString() == "active");
        var set = active.GetProperty("districtThresholds").EnumerateArray().OrderByDescending(t => t.GetProperty("setAt").GetString()).First();
        Assert.Equal(("flag-top-share", 0.15), (set.GetProperty("target").GetString(), Math.Round(set.GetProperty("targetValue").GetDouble(), 4)));
        Assert.Equal(set.GetProperty("threshold").GetDouble().ToString(System.Globalization.CultureInfo.InvariantCulture),
            await page.Locator("#threshold-in-use").GetAttributeAsync("data-threshold"));
        await ShotAsync(page, "ops-threshold");
    }

    /// <summary>
    /// The text elements of a chart's SVG, fetched as the page fetches it (same route, same kind, an ops user's token):
    /// the page's own policy (connect-src 'self') keeps a script from reading the blob it shows.
    /// </summary>
    private async Task<string[]> ChartTextsAsync(string chart)
    {
        var (status, svg) = await GetAsync("ops-1", $"/api/early-warning/v1/monitoring/charts/{chart}?kind=chronic-absence");
        Assert.True(status == HttpStatusCode.OK, $"{chart}: {(int)status} {svg}");
        return System.Xml.Linq.XDocument.Parse(svg).Descendants().Where(e => e.Name.LocalName == "text")
            .Select(e => e.Value.Trim()).Where(t => t.Length > 0).ToArray();
    }

    [SkippableFact]
    public async Task Sign_in_page_lists_the_demo_users_and_a_role_sees_only_its_pages()
    {
        _name = "sign";
        Skip.If(BrowserFixture.Unavailable is not null, BrowserFixture.Unavailable);
        var page = await NewPageAsync();
        await page.GotoAsync(fixture.Gateway.ToString());
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in to Beacon" })).ToBeVisibleAsync();
        await Expect(page.Locator("button[data-user]")).ToHaveCountAsync(10, new() { Timeout = (float)Wait.TotalMilliseconds });
        await ShotAsync(page, "sign-in");
        // Keyboard only: the first user has focus; Tab to ops-1 and Enter signs in.
        await page.Locator("button[data-user='ops-1']").FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Models", Exact = true })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Navigation).GetByRole(AriaRole.Link)).ToHaveTextAsync(["Models"]);
        await page.GotoAsync($"{fixture.Gateway}#/coordinator");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not for your role" })).ToBeVisibleAsync();
    }

    /// <summary>
    /// axe-core (Deque.AxeCore.Playwright, embedded: nothing is downloaded) on each page once its sections have
    /// loaded, with the WCAG 2.0/2.1/2.2 A and AA rules: serious or critical violations fail, the others are printed.
    /// </summary>
    [SkippableTheory]
    [InlineData("sign-in")]
    [InlineData("counselor")]
    [InlineData("student")]
    [InlineData("coordinator")]
    [InlineData("mastery")]
    [InlineData("ops")]
    [InlineData("search")]
    public async Task Page_has_no_serious_accessibility_violations(string view)
    {
        _name = $"axe-{view}";
        Skip.If(BrowserFixture.Unavailable is not null, BrowserFixture.Unavailable);
        IPage page;
        switch (view)
        {
            case "sign-in":
                page = await NewPageAsync();
                await page.GotoAsync(fixture.Gateway.ToString());
                await Expect(page.Locator("button[data-user]").First).ToBeVisibleAsync();
                break;
            case "counselor":
                page = await SignInAsync("c-north-1");
                await Expect(page.Locator("#worklist > li").First).ToBeVisibleAsync();
                break;
            case "student":
                page = await SignInAsync("c-north-1");
                var risks = await ApiAsync("c-north-1", "/api/early-warning/v1/risks?schoolId=north&flaggedOnly=false&limit=50");
                string? student = null;
                foreach (var r in risks.GetProperty("risks").EnumerateArray())
                {
                    if (await OnRosterAsync("c-north-1", r.GetProperty("studentId").GetString()!))
                    {
                        student = r.GetProperty("studentId").GetString();
                        break;
                    }
                }
                Assert.NotNull(student);
                await page.GotoAsync($"{fixture.Gateway}#/student/{student}");
                await Expect(page.Locator("#risk-factors li").First).ToBeVisibleAsync();
                break;
            case "coordinator":
                page = await SignInAsync("coord-north");
                await Expect(page.Locator("#unassigned tbody tr").First).ToBeVisibleAsync();
                break;
            case "mastery":
                page = await SignInAsync("coord-district");
                await page.GetByRole(AriaRole.Link, new() { Name = "Mastery" }).ClickAsync();
                await Expect(page.Locator("#struggling summary").First).ToBeVisibleAsync();
                break;
            case "search":
                page = await SignInAsync("c-north-1");
                var first = (await ApiAsync("c-north-1", "/api/early-warning/v1/risks?schoolId=north&flaggedOnly=false&limit=1")).GetProperty("risks")[0];
                await page.GotoAsync($"{fixture.Gateway}#/search/{first.GetProperty("studentId").GetString()}");
                await Expect(page.Locator("#search-results tbody tr").First).ToBeVisibleAsync();
                break;
            default:
                page = await SignInAsync("ops-1");
                await Expect(page.Locator("#registry tbody tr").First).ToBeVisibleAsync();
                break;
        }
        // Every section has loaded (or shown its error) before axe looks.
        await Expect(page.Locator("main p.muted:has-text('Loading')")).ToHaveCountAsync(0, new() { Timeout = (float)Wait.TotalMilliseconds });
        var result = await RunAxeAsync(page);
        var failing = new List<string>();
        foreach (var violation in result.Violations)
        {
            var line = $"{violation.Impact} {violation.Id}: {violation.Help} ({violation.Nodes.Length} element(s); {violation.HelpUrl})\n"
                + string.Join("\n", violation.Nodes.Take(5).Select(n => $"    {n.Target}: {n.Html}"));
            output.WriteLine($"axe {view}: {line}");
            if (violation.Impact is "serious" or "critical")
            {
                failing.Add(line);
            }
        }
        output.WriteLine($"axe {view}: {result.Passes.Length} rules passed, {result.Violations.Length} violated, {failing.Count} of them serious or critical");
        await ShotAsync(page, $"axe-{view}");
        Assert.True(failing.Count == 0, $"{view}: serious or critical accessibility violations:\n{string.Join("\n", failing)}");
    }

    /// <summary>The check above can fail: the same axe run finds an unnamed button and an image without a text alternative.</summary>
    [SkippableFact]
    public async Task Axe_finds_a_violation_planted_in_a_page()
    {
        _name = "axe-planted";
        Skip.If(BrowserFixture.Unavailable is not null, BrowserFixture.Unavailable);
        var page = await NewPageAsync();
        await page.GotoAsync(fixture.Gateway.ToString());
        await Expect(page.Locator("button[data-user]").First).ToBeVisibleAsync();
        await page.EvaluateAsync("() => document.querySelector('main').append(document.createElement('button'), Object.assign(document.createElement('img'), { src: '/favicon.svg' }))");
        var result = await RunAxeAsync(page);
        var serious = result.Violations.Where(v => v.Impact is "serious" or "critical").Select(v => v.Id).ToArray();
        Assert.Contains("button-name", serious);
        Assert.Contains("image-alt", serious);
    }

    private static Task<AxeResult> RunAxeAsync(IPage page) => page.RunAxe(new AxeRunOptions
    {
        RunOnly = new RunOnlyOptions { Type = "tag", Values = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] },
        Iframes = false,
    });

    private async Task<IPage> NewPageAsync()
    {
        var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = fixture.Gateway.ToString(), ViewportSize = new() { Width = 1280, Height = 900 } });
        _contexts.Add(context);
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout((float)Wait.TotalMilliseconds);
        page.Console += (_, m) =>
        {
            if (m.Type == "error" && !_finished)
            {
                output.WriteLine($"browser console: {m.Text} ({m.Location})");
                if (m.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase))
                {
                    lock (_policyViolations)
                    {
                        _policyViolations.Add($"{m.Text} ({m.Location})");
                    }
                }
            }
        };
        page.PageError += (_, e) =>
        {
            if (!_finished)
            {
                output.WriteLine($"browser error: {e}");
            }
        };
        return page;
    }

    private async Task<IPage> SignInAsync(string user)
    {
        var page = await NewPageAsync();
        await page.GotoAsync(fixture.Gateway.ToString());
        await page.Locator($"button[data-user='{user}']").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Sign out" })).ToBeVisibleAsync();
        return page;
    }

    private async Task ShotAsync(IPage page, string name)
    {
        var path = Path.Combine(fixture.Screenshots, $"{name}.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        output.WriteLine($"screenshot: {path}");
    }

    private async Task<JsonElement> GetCaseAsync(string user, string caseId) => await ApiAsync(user, $"/api/interventions/v1/cases/{caseId}");

    /// <summary>Checks what the page did through the API, with the same user's token from the dev issuer.</summary>
    private async Task<JsonElement> ApiAsync(string user, string path)
    {
        var (status, body) = await GetAsync(user, path);
        Assert.True(status == HttpStatusCode.OK, $"{path}: {(int)status} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private async Task<bool> OnRosterAsync(string user, string studentId) =>
        (await GetAsync(user, $"/api/ingestion/v1/students/{studentId}")).Status == HttpStatusCode.OK;

    private async Task<(HttpStatusCode Status, string Body)> GetAsync(string user, string path)
    {
        using var http = new HttpClient { BaseAddress = fixture.Gateway };
        using var tokenResponse = await http.PostAsJsonAsync("/auth/dev/token", new { user });
        tokenResponse.EnsureSuccessStatusCode();
        var token = (await tokenResponse.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString();
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);
}
