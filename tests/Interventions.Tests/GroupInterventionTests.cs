extern alias Effects;
extern alias Mastery;
extern alias Simulator;

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.Interventions.Storage;
using Beacon.ServiceDefaults;
using Beacon.Testing;
using Effects::Beacon.Effects.Evaluation;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Simulator::Beacon.Simulator;
using MasteryProgram = Mastery::Program;

namespace Beacon.Interventions.Tests;

/// <summary>
/// Group interventions end to end: the section arrives by event (as from Ingestion), a real Mastery answers the skill
/// check and the mastery history over gRPC, the real broker carries the answers. A teacher creates a group for their own
/// section only, every bad field is a 400 naming it, and the mastery effect the API reports is the one the offline
/// evaluation computes from the same simulated answers.
/// </summary>
public sealed class GroupInterventionTests : IAsyncLifetime
{
    private readonly ServiceFactory<MasteryProgram> _mastery = new();
    private ServiceFactory<Program> _service = null!;
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];

    public async Task InitializeAsync()
    {
        _service = new ServiceFactory<Program> { BusScope = _mastery.BusScope, ClientHandlers = { ["MasteryClient"] = () => _mastery.Server.CreateHandler() } };
        await _mastery.WaitUntilReadyAsync();
        await _service.WaitUntilReadyAsync();
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        await _mastery.DisposeAsync();
    }

    private IBus Bus => _service.Services.GetRequiredService<IBus>();

    private async Task PutSkillAsync(string skill)
    {
        using var admin = _mastery.CreateClient();
        using var response = await admin.PutAsJsonAsync("/api/mastery/v1/skills", new { skills = new[] { new { skillId = skill, name = "Fractions", prerequisites = Array.Empty<string>() } } });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task SectionAsync(string section, string school, string teacher, IReadOnlyList<string> students)
    {
        await Bus.Publish(new SectionRosterRecorded(section, school, "Maths 5A", [teacher], students, false, DateTimeOffset.UtcNow));
        await Eventually.WaitAsync(() => _service.WithDbAsync<InterventionsDbContext, int>(db => db.SectionPeople.CountAsync(p => p.SectionId == section)),
            n => n == students.Count + 1, TimeSpan.FromSeconds(60));
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(HttpClient client, object body)
    {
        using var response = await client.PostAsJsonAsync("/api/interventions/v1/group-interventions", body);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }

    private static string[] ErrorKeys(JsonElement problem) =>
        [.. problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task A_teacher_creates_a_group_for_their_own_section_and_every_bad_field_is_named()
    {
        var (school, section, skill) = ($"gi-school-{_run}", $"gi-sec-{_run}", $"gi-frac-{_run}");
        await PutSkillAsync(skill);
        await SectionAsync(section, school, $"t1-{_run}", [$"s1-{_run}", $"s2-{_run}", $"s3-{_run}"]);
        using var teacher = _service.CreateClientAs(TestTokens.For($"t1-{_run}", [Roles.Teacher], [school]));

        var (status, created) = await PostAsync(teacher, new
        {
            sectionId = section,
            type = "re-teach-module",
            skillId = skill,
            studentIds = new[] { $"s1-{_run}", $"s3-{_run}" },
            startDate = "2026-11-16",
            durationWeeks = 2,
            note = "Re-teach common denominators",
        });
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal([$"s1-{_run}", $"s3-{_run}"], created.GetProperty("studentIds").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal("2026-11-29", created.GetProperty("endDate").GetString());
        Assert.Equal($"t1-{_run}", created.GetProperty("createdBy").GetString());
        var line = Assert.Single(created.GetProperty("activity").EnumerateArray());
        Assert.Equal(("created", $"t1-{_run}"), (line.GetProperty("kind").GetString(), line.GetProperty("by").GetString()));

        // Every field wrong at once: each named, nothing stored.
        (status, var problem) = await PostAsync(teacher, new
        {
            sectionId = section,
            type = "homework",
            skillId = "",
            studentIds = new[] { $"s1-{_run}", $"s1-{_run}" },
            startDate = "2026-13-01",
            durationWeeks = 3,
        });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(["durationWeeks", "skillId", "startDate", "studentIds[1]", "type"], ErrorKeys(problem));
        // Well-formed, but a student outside the section and a skill Mastery does not know.
        (status, problem) = await PostAsync(teacher, new
        {
            sectionId = section,
            type = "small-group",
            skillId = $"nope-{_run}",
            studentIds = new[] { $"s2-{_run}", $"elsewhere-{_run}" },
            startDate = "2026-11-16",
            durationWeeks = 1,
        });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(["skillId", "studentIds[1]"], ErrorKeys(problem));
        // Someone else named as the creator.
        (status, problem) = await PostAsync(teacher, new
        {
            sectionId = section,
            type = "small-group",
            skillId = skill,
            studentIds = new[] { $"s2-{_run}" },
            startDate = "2026-11-16",
            durationWeeks = 1,
            createdBy = "someone-else",
        });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(["createdBy"], ErrorKeys(problem));
        using (var malformed = await teacher.PostAsync("/api/interventions/v1/group-interventions", new StringContent("{\"sectionId\": ", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        }

        // Another teacher of the school does not see the section; a counselor is not a teacher.
        using var other = _service.CreateClientAs(TestTokens.For($"t2-{_run}", [Roles.Teacher], [school]));
        (status, _) = await PostAsync(other, new { sectionId = section, type = "small-group", skillId = skill, studentIds = new[] { $"s2-{_run}" }, startDate = "2026-11-16", durationWeeks = 1 });
        Assert.Equal(HttpStatusCode.NotFound, status);
        using var counselor = _service.CreateClientAs(TestTokens.Counselor($"c-{_run}", school));
        (status, _) = await PostAsync(counselor, new { sectionId = section, type = "small-group", skillId = skill, studentIds = new[] { $"s2-{_run}" }, startDate = "2026-11-16", durationWeeks = 1 });
        Assert.Equal(HttpStatusCode.Forbidden, status);

        Assert.Equal(1, await _service.WithDbAsync<InterventionsDbContext, int>(db => db.Groups.CountAsync(g => g.SectionId == section)));
        var mine = await teacher.GetFromJsonAsync<JsonElement>($"/api/interventions/v1/group-interventions?sectionId={section}");
        Assert.Equal(1, mine.GetArrayLength());
        Assert.Equal(0, (await other.GetFromJsonAsync<JsonElement>($"/api/interventions/v1/group-interventions?sectionId={section}")).GetArrayLength());
        using var coordinator = _service.CreateClientAs(TestTokens.Coordinator($"co-{_run}", school));
        using var one = await coordinator.GetAsync($"/api/interventions/v1/group-interventions/{created.GetProperty("groupId").GetGuid()}");
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
    }

    [Fact]
    public async Task The_mastery_effect_reported_is_the_one_the_evaluation_computes_from_the_same_answers()
    {
        const int seed = 7, students = 240;
        var world = new MasteryEffectWorld(seed, students, schoolId: $"me-{_run}");
        var skill = world.SkillId;
        await PutSkillAsync(skill);
        foreach (var id in world.Students)
        {
            await Bus.Publish(new StudentEnrolled(id, world.SchoolId, "Sim", id, "5", DateTimeOffset.UtcNow));
        }
        var section = $"me-sec-{_run}";
        await SectionAsync(section, world.SchoolId, $"t-{_run}", world.Students);
        foreach (var chunk in world.Answers.Chunk(500))
        {
            await Bus.Publish(new ItemResponseBatchRecorded([.. chunk.Select(a => new ItemResponseRecorded(a.StudentId, a.ItemId, [skill], a.Correct, a.AttemptNumber, a.HintsUsed, 30, a.AnsweredAt))]));
        }
        await Eventually.WaitAsync(() => _mastery.WithDbAsync<Mastery::Beacon.Mastery.Storage.MasteryDbContext, int>(db => db.AppliedResponses.CountAsync(r => r.StudentId.StartsWith(world.SchoolId))),
            n => n == world.Answers.Count, TimeSpan.FromSeconds(180));
        // Mastery answers by school: every enrollment must have arrived too, not only the answers.
        await Eventually.WaitAsync(() => _mastery.WithDbAsync<Mastery::Beacon.Mastery.Storage.MasteryDbContext, int>(db => db.Students.CountAsync(s => s.SchoolId == world.SchoolId)),
            n => n == world.Students.Count, TimeSpan.FromSeconds(60));

        using var teacher = _service.CreateClientAs(TestTokens.For($"t-{_run}", [Roles.Teacher], [world.SchoolId]));
        foreach (var group in world.Groups)
        {
            var (status, body) = await PostAsync(teacher, new
            {
                sectionId = section,
                type = group.Type,
                skillId = skill,
                studentIds = group.StudentIds,
                startDate = group.StartDate.ToString("yyyy-MM-dd"),
                durationWeeks = 2,
            });
            Assert.True(status == HttpStatusCode.Created, body.ToString());
        }

        var report = await teacher.GetFromJsonAsync<JsonElement>($"/api/interventions/v1/mastery-effect?windowWeeks=2&sectionId={section}");
        var expected = MasteryEffectEvaluation.Run(seed, 2, students, world.SchoolId);
        var types = report.GetProperty("interventionTypes").EnumerateArray().ToDictionary(t => t.GetProperty("type").GetString()!, t => t.GetProperty("effect"));
        foreach (var e in expected)
        {
            var got = types[e.Type];
            Assert.Equal(e.Students, got.GetProperty("students").GetInt32());
            Assert.Equal(e.Excluded, got.GetProperty("excluded").GetInt32());
            Assert.Equal(Math.Round(e.Estimate, 4), got.GetProperty("difference").GetDouble(), 4);
            Assert.Equal(Math.Round(e.Low!.Value, 4), got.GetProperty("ci95")[0].GetDouble(), 4);
        }
        Assert.Equal(world.Groups.Count, report.GetProperty("groups").GetArrayLength());
        // No student is named in the aggregate report.
        Assert.DoesNotContain(world.Students[0], report.ToString(), StringComparison.Ordinal);
        using var bad = await teacher.GetAsync("/api/interventions/v1/mastery-effect?windowWeeks=3");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }
}
