using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Interventions.Storage;
using Beacon.Messaging;
using Beacon.ServiceDefaults;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Interventions.Tests;

/// <summary>
/// The acting user of every write is the token's subject: what is stored (opened by, assigned by, activity
/// authors, the InterventionAssigned event) is the caller, a body naming someone else is a 400 naming the
/// field with nothing changed, and only a service account may act on behalf of the person it names.
/// </summary>
public sealed class ActingUserTests(ServiceFactory<Program> service) : IClassFixture<ServiceFactory<Program>>
{
    private const string School = "iv-acting";
    private const string Counselor = "iv-acting-counselor";
    private const string Coordinator = "iv-acting-coordinator";

    private HttpClient As(string who) => service.CreateClientAs(who switch
    {
        Counselor => TestTokens.Counselor(Counselor, School),
        Coordinator => TestTokens.Coordinator(Coordinator, School),
        _ => throw new ArgumentOutOfRangeException(nameof(who)),
    });

    private static async Task<Guid> OpenAsync(HttpClient client, string student, object? extra = null)
    {
        using var response = await client.PostAsJsonAsync("/api/interventions/v1/cases",
            extra ?? new { studentId = student, schoolId = School, reason = "Missed mornings." });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("caseId").GetGuid();
    }

    private Task<List<(string Kind, string By)>> ActivityAsync(Guid caseId) =>
        service.WithDbAsync<InterventionsDbContext, List<(string, string)>>(async db =>
            (await db.Activity.Where(a => a.CaseId == caseId).OrderBy(a => a.Id).ToListAsync()).Select(a => (a.Kind, a.By)).ToList());

    private static async Task AssertRefusedAsync(HttpResponseMessage response, string field)
    {
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"expected 400, got {(int)response.StatusCode} {body}");
        Assert.True(body.GetProperty("errors").TryGetProperty(field, out _), $"the problem does not name '{field}': {body}");
    }

    [Fact]
    public async Task Every_write_is_recorded_under_the_token_subject()
    {
        using var counselor = As(Counselor);
        using var coordinator = As(Coordinator);
        var caseId = await OpenAsync(counselor, $"stu-{Guid.NewGuid():N}");
        var path = $"/api/interventions/v1/cases/{caseId}";

        // A body naming the caller themself is accepted, as older clients send it.
        (await coordinator.PostAsJsonAsync($"{path}/assignment", new { ownerId = Counselor, assignedBy = Coordinator })).EnsureSuccessStatusCode();
        (await counselor.PutAsJsonAsync($"{path}/plan", new
        {
            type = "attendance-outreach",
            tier = 2,
            goal = "Attend",
            startDate = "2026-11-02",
            durationWeeks = 4,
            checkInFrequency = "weekly",
        })).EnsureSuccessStatusCode();
        (await counselor.PostAsJsonAsync($"{path}/start", new { })).EnsureSuccessStatusCode();
        (await counselor.PostAsJsonAsync($"{path}/notes", new { text = "Phoned home.", contact = true })).EnsureSuccessStatusCode();
        (await coordinator.PostAsJsonAsync($"{path}/closure", new { outcome = "moved", reason = "left the district" })).EnsureSuccessStatusCode();

        Assert.Equal(
            [("opened", Counselor), ("assigned", Coordinator), ("plan-set", Counselor), ("started", Counselor), ("note", Counselor), ("closed", Coordinator)],
            (await ActivityAsync(caseId)).Select(a => (a.Kind == "contact" ? "note" : a.Kind, a.By)));
        var openedBy = await service.WithDbAsync<InterventionsDbContext, string>(db => db.Cases.Where(c => c.CaseId == caseId).Select(c => c.OpenedBy).SingleAsync());
        Assert.Equal(Counselor, openedBy);
        var assigned = await service.WithDbAsync<InterventionsDbContext, string>(db =>
            db.Set<OutboxMessage>().Where(m => m.MessageType.Contains("InterventionAssigned") && m.Body.Contains(caseId.ToString())).Select(m => m.Body).SingleAsync());
        Assert.Equal(Coordinator, JsonDocument.Parse(assigned).RootElement.GetProperty("AssignedBy").GetString());
    }

    [Fact]
    public async Task A_body_naming_someone_else_is_refused_naming_the_field_and_nothing_is_stored()
    {
        using var counselor = As(Counselor);
        using var coordinator = As(Coordinator);
        var forgedStudent = $"stu-{Guid.NewGuid():N}";
        await AssertRefusedAsync(await counselor.PostAsJsonAsync("/api/interventions/v1/cases",
            new { studentId = forgedStudent, schoolId = School, reason = "x", openedBy = "somebody-else" }), "openedBy");
        Assert.False(await service.WithDbAsync<InterventionsDbContext, bool>(db => db.Cases.AnyAsync(c => c.StudentId == forgedStudent)));

        var caseId = await OpenAsync(counselor, $"stu-{Guid.NewGuid():N}");
        var path = $"/api/interventions/v1/cases/{caseId}";
        await AssertRefusedAsync(await coordinator.PostAsJsonAsync($"{path}/assignment", new { ownerId = Counselor, assignedBy = "somebody-else" }), "assignedBy");
        await AssertRefusedAsync(await coordinator.PostAsJsonAsync("/api/interventions/v1/assignments",
            new { caseIds = new[] { caseId }, ownerId = Counselor, assignedBy = "somebody-else" }), "assignedBy");
        await AssertRefusedAsync(await counselor.PostAsJsonAsync($"{path}/notes", new { text = "forged", authorId = "somebody-else" }), "authorId");
        await AssertRefusedAsync(await counselor.PutAsJsonAsync($"{path}/plan", new
        {
            type = "attendance-outreach",
            tier = 2,
            goal = "Attend",
            startDate = "2026-11-02",
            durationWeeks = 4,
            checkInFrequency = "weekly",
            by = "somebody-else",
        }), "by");
        await AssertRefusedAsync(await counselor.PostAsJsonAsync($"{path}/closure", new { outcome = "moved", by = "somebody-else" }), "by");

        Assert.Equal([("opened", Counselor)], await ActivityAsync(caseId));
        Assert.False(await service.WithDbAsync<InterventionsDbContext, bool>(db => db.Set<OutboxMessage>().AnyAsync(m => m.Body.Contains("somebody-else"))));
    }

    [Fact]
    public async Task A_service_account_acts_on_behalf_of_the_person_it_names()
    {
        using var client = service.CreateClientAs(TestTokens.For("service:sis-bridge", [Roles.Service]));
        var student = $"stu-{Guid.NewGuid():N}";
        var caseId = await OpenAsync(client, student, new { studentId = student, schoolId = School, reason = "x", openedBy = Counselor });
        Assert.Equal([("opened", Counselor)], await ActivityAsync(caseId));

        // Without a name it acts as itself.
        (await client.PostAsJsonAsync($"/api/interventions/v1/cases/{caseId}/notes", new { text = "synced" })).EnsureSuccessStatusCode();
        Assert.Equal(("note", "service:sis-bridge"), (await ActivityAsync(caseId))[^1]);
    }
}
