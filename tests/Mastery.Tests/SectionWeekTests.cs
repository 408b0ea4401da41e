using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.ServiceDefaults;
using Beacon.Testing;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.Mastery.Tests;

/// <summary>
/// A teacher's week, end to end on the real broker: the section roster, the roster and the answers arrive as events;
/// the section view counts only the section's students, this week against last week, and only its teachers see it.
/// </summary>
public sealed class SectionWeekTests : IAsyncLifetime
{
    private readonly ServiceFactory<Program> _service = new();
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];

    public async Task InitializeAsync() => await _service.WaitUntilReadyAsync();

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private IBus Bus => _service.Services.GetRequiredService<IBus>();

    private string Id(string name) => $"{name}-{_run}";

    private ItemResponseRecorded Answer(string student, string item, string skill, bool correct, string at, int attempt = 1, int hints = 0) =>
        new(Id(student), Id(item), [Id(skill)], correct, attempt, hints, 20, DateTimeOffset.Parse(at));

    [Fact]
    public async Task The_week_shows_the_sections_failing_skills_with_evidence_and_only_to_its_teachers()
    {
        var school = Id("tw-school");
        using var admin = _service.CreateClientAs(TestTokens.Administrator);
        using var graph = await admin.PutAsJsonAsync("/api/mastery/v1/skills", new
        {
            skills = new object[]
            {
                new { skillId = Id("div"), name = "Division", prerequisites = Array.Empty<string>() },
                new { skillId = Id("frac"), name = "Fractions", prerequisites = new[] { Id("div") } },
            },
        });
        Assert.True(graph.IsSuccessStatusCode, await graph.Content.ReadAsStringAsync());

        foreach (var s in new[] { "s1", "s2", "s3", "s4" })
        {
            await Bus.Publish(new StudentEnrolled(Id(s), school, $"Given {s}", "Family", "5", DateTimeOffset.UtcNow));
        }
        // s4 is in the school but not in the section: its many wrong answers must not count.
        await Bus.Publish(new SectionRosterRecorded(Id("sec"), school, "Maths 5A", [Id("t1")], [Id("s1"), Id("s2"), Id("s3")], false, DateTimeOffset.UtcNow));
        var answers = new List<ItemResponseRecorded>
        {
            // Last week (Monday 2026-11-09 .. Sunday 11-15): fractions 1 of 2 wrong; division wrong once for s1.
            Answer("s2", "f9", "frac", false, "2026-11-10T09:00:00Z"),
            Answer("s2", "f8", "frac", true, "2026-11-10T09:05:00Z"),
            Answer("s1", "d1", "div", false, "2026-11-11T09:00:00Z"),
            // This week (from Monday 2026-11-16): s1 fails f1 twice and f2 with two hints; s2 gets fractions right; s3 fails addition once.
            Answer("s1", "f1", "frac", false, "2026-11-16T09:00:00Z"),
            Answer("s1", "f1", "frac", false, "2026-11-16T09:02:00Z", attempt: 2),
            Answer("s1", "f2", "frac", false, "2026-11-17T09:00:00Z", hints: 2),
            Answer("s2", "f1", "frac", true, "2026-11-17T10:00:00Z"),
            Answer("s2", "f2", "frac", true, "2026-11-17T10:05:00Z"),
            Answer("s3", "a1", "add", false, "2026-11-18T10:00:00Z"),
        };
        answers.AddRange(Enumerable.Range(0, 6).Select(i => Answer("s4", $"f{i}", "frac", false, $"2026-11-18T11:0{i}:00Z")));
        await Bus.Publish(new ItemResponseBatchRecorded(answers));

        var url = $"/api/mastery/v1/sections/{Id("sec")}/week?weekOf=2026-11-19";
        using var teacher = _service.CreateClientAs(TestTokens.For(Id("t1"), [Roles.Teacher], [school]));
        // Wait for the answers and for every struggling student's enrollment (names come from StudentEnrolled, consumed on its own).
        var week = await Eventually.WaitAsync(async () =>
        {
            using var response = await teacher.GetAsync(url);
            return response.IsSuccessStatusCode ? JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone() : (JsonElement?)null;
        }, w => w?.GetProperty("answersThisWeek").GetInt32() == 6 && w.Value.GetProperty("topSkills").EnumerateArray()
            .SelectMany(t => t.GetProperty("strugglingStudents").EnumerateArray()).All(s => s.GetProperty("givenName").GetString() is { Length: > 0 }),
            TimeSpan.FromSeconds(60));

        var w = week!.Value;
        Assert.Equal("2026-11-16", w.GetProperty("weekStart").GetString());
        Assert.Equal(3, w.GetProperty("students").GetInt32());
        var top = w.GetProperty("topSkills").EnumerateArray().ToList();
        Assert.Equal([Id("add"), Id("frac")], top.Select(t => t.GetProperty("skillId").GetString()));
        var frac = top[1];
        Assert.Equal(5, frac.GetProperty("answers").GetInt32());
        Assert.Equal(3, frac.GetProperty("wrong").GetInt32());
        Assert.Equal(2, frac.GetProperty("students").GetInt32());
        Assert.Equal(0.6, frac.GetProperty("failureRate").GetDouble(), 4);
        Assert.Equal(0.5, frac.GetProperty("lastWeekFailureRate").GetDouble(), 4);
        Assert.Equal(0.1, frac.GetProperty("change").GetDouble(), 4);
        Assert.Equal(JsonValueKind.Null, top[0].GetProperty("lastWeekFailureRate").ValueKind);

        // Only s1 struggles with fractions (s2 answered right); the evidence and the weakest prerequisite come with them.
        var s1 = Assert.Single(frac.GetProperty("strugglingStudents").EnumerateArray());
        Assert.Equal(Id("s1"), s1.GetProperty("studentId").GetString());
        Assert.Equal("Given s1", s1.GetProperty("givenName").GetString());
        Assert.Equal(3, s1.GetProperty("answersThisWeek").GetInt32());
        Assert.Equal(3, s1.GetProperty("wrongThisWeek").GetInt32());
        Assert.Equal(2, s1.GetProperty("hintsThisWeek").GetInt32());
        Assert.Equal(3, s1.GetProperty("latestAnswers").GetArrayLength());
        Assert.Equal(Id("div"), s1.GetProperty("weakestPrerequisite").GetProperty("skillId").GetString());

        var repeated = Assert.Single(w.GetProperty("repeatedFailureItems").EnumerateArray());
        Assert.Equal(Id("f1"), repeated.GetProperty("itemId").GetString());
        Assert.Equal(1, repeated.GetProperty("students").GetInt32());
        Assert.Equal(2, repeated.GetProperty("wrong").GetInt32());

        // The teacher's list names the section; another teacher of the school, a coordinator elsewhere and a counselor do not see it.
        var mine = await teacher.GetFromJsonAsync<JsonElement>("/api/mastery/v1/sections");
        Assert.Equal(3, Assert.Single(mine.EnumerateArray()).GetProperty("students").GetInt32());
        using var otherTeacher = _service.CreateClientAs(TestTokens.For(Id("t2"), [Roles.Teacher], [school]));
        Assert.Equal(HttpStatusCode.NotFound, (await otherTeacher.GetAsync(url)).StatusCode);
        Assert.Empty((await otherTeacher.GetFromJsonAsync<JsonElement>("/api/mastery/v1/sections")).EnumerateArray());
        using var elsewhere = _service.CreateClientAs(TestTokens.Coordinator("coord-x", "another-school"));
        Assert.Equal(HttpStatusCode.NotFound, (await elsewhere.GetAsync(url)).StatusCode);
        using var coordinator = _service.CreateClientAs(TestTokens.Coordinator("coord-y", school));
        Assert.Equal(HttpStatusCode.OK, (await coordinator.GetAsync(url)).StatusCode);
        using var counselor = _service.CreateClientAs(TestTokens.Counselor("c-1", school));
        Assert.Equal(HttpStatusCode.Forbidden, (await counselor.GetAsync(url)).StatusCode);
        using var bad = await teacher.GetAsync($"/api/mastery/v1/sections/{Id("sec")}/week?weekOf=19-11-2026");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("weekOf", await bad.Content.ReadAsStringAsync());

        // A newer roster without s1 replaces the old one; an older one arriving late changes nothing.
        await Bus.Publish(new SectionRosterRecorded(Id("sec"), school, "Maths 5A", [Id("t1")], [Id("s2"), Id("s3")], false, DateTimeOffset.UtcNow.AddSeconds(1)));
        await Bus.Publish(new SectionRosterRecorded(Id("sec"), school, "Maths 5A", [Id("t1")], [Id("s1"), Id("s2"), Id("s3")], false, DateTimeOffset.UtcNow.AddDays(-1)));
        await Eventually.WaitAsync(async () => (await teacher.GetFromJsonAsync<JsonElement>(url)).GetProperty("students").GetInt32(), n => n == 2, TimeSpan.FromSeconds(30));
        await Task.Delay(1000);
        Assert.Equal(2, (await teacher.GetFromJsonAsync<JsonElement>(url)).GetProperty("students").GetInt32());
    }
}
