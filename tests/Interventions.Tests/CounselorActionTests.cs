using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.Interventions.Storage;
using Beacon.Messaging;
using Beacon.ServiceDefaults;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.Interventions.Tests;

/// <summary>
/// A counselor acts without waiting for a coordinator: takes an unassigned case of their school, plans it, logs who
/// they reached and how, schedules the next check-in; the coordinator sees who took what. Bad values are 400s naming
/// the field, wrong states 409s, other schools' cases 404s.
/// </summary>
public sealed class CounselorActionTests(ServiceFactory<Program> service) : IClassFixture<ServiceFactory<Program>>
{
    private const string School = "iv-take";
    private const string Counselor = "iv-take-counselor";
    private const string Other = "iv-take-other";
    private const string Coordinator = "iv-take-coordinator";

    private HttpClient As(string who) => service.CreateClientAs(who switch
    {
        Counselor => TestTokens.Counselor(Counselor, School),
        Other => TestTokens.Counselor(Other, "iv-take-elsewhere"),
        Coordinator => TestTokens.Coordinator(Coordinator, School),
        _ => throw new ArgumentOutOfRangeException(nameof(who)),
    });

    private async Task<string> OpenAsync()
    {
        using var coordinator = As(Coordinator);
        using var response = await coordinator.PostAsJsonAsync("/api/interventions/v1/cases", new { studentId = $"stu-{Guid.NewGuid():N}", schoolId = School, reason = "Missed mornings." });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return $"/api/interventions/v1/cases/{(await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("caseId").GetGuid()}";
    }

    private static async Task<JsonElement> OkAsync(Task<HttpResponseMessage> call)
    {
        using var response = await call;
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        return body;
    }

    private static async Task AssertProblemAsync(Task<HttpResponseMessage> call, HttpStatusCode status, string? field = null)
    {
        using var response = await call;
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        if (field is not null)
        {
            Assert.True(JsonDocument.Parse(body).RootElement.GetProperty("errors").TryGetProperty(field, out _), $"the problem does not name '{field}': {body}");
        }
    }

    [Fact]
    public async Task A_counselor_takes_plans_contacts_and_schedules_and_the_coordinator_sees_who_took_it()
    {
        var path = await OpenAsync();
        using var counselor = As(Counselor);
        var taken = await OkAsync(counselor.PostAsJsonAsync($"{path}/take", new { }));
        Assert.Equal("assigned", taken.GetProperty("status").GetString());
        Assert.Equal(Counselor, taken.GetProperty("takenBy").GetString());
        Assert.Equal(Counselor, taken.GetProperty("assignedTo").GetString());

        await OkAsync(counselor.PutAsJsonAsync($"{path}/plan", new
        {
            type = "attendance-outreach",
            tier = 2,
            goal = "Attend mornings",
            startDate = "2026-11-02",
            durationWeeks = 4,
            checkInFrequency = "weekly",
        }));
        var contacted = await OkAsync(counselor.PostAsJsonAsync($"{path}/contacts", new { with = "parent-guardian", how = "call", note = "Mother says the bus is late." }));
        Assert.False(string.IsNullOrEmpty(contacted.GetProperty("firstContactAt").GetString()));
        var next = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(7).ToString("yyyy-MM-dd");
        Assert.Equal(next, (await OkAsync(counselor.PutAsJsonAsync($"{path}/next-check-in", new { date = next }))).GetProperty("nextCheckIn").GetString());

        // The coordinator's view: the case (gRPC transcoded), its history and the event name the counselor.
        using var coordinator = As(Coordinator);
        var seen = await OkAsync(coordinator.GetAsync(path));
        Assert.Equal(Counselor, seen.GetProperty("takenBy").GetString());
        Assert.Equal(next, seen.GetProperty("nextCheckIn").GetString());
        var history = (await OkAsync(coordinator.GetAsync($"{path}/activity"))).GetProperty("activity").EnumerateArray()
            .Select(a => (a.GetProperty("kind").GetString(), a.GetProperty("by").GetString(), a.GetProperty("text").GetString())).ToList();
        Assert.Contains(("taken", Counselor, $"Taken by {Counselor}."), history);
        Assert.Contains(("contact", Counselor, "Call with parent/guardian. Mother says the bus is late."), history);
        var caseId = path[(path.LastIndexOf('/') + 1)..];
        var assigned = await service.WithDbAsync<InterventionsDbContext, string>(db =>
            db.Set<OutboxMessage>().Where(m => m.MessageType.Contains("InterventionAssigned") && m.Body.Contains(caseId)).Select(m => m.Body).SingleAsync());
        Assert.Equal(Counselor, JsonDocument.Parse(assigned).RootElement.GetProperty("OwnerId").GetString());

        // Taken once: a second take is a conflict, and the coordinator's caseload counts it.
        await AssertProblemAsync(counselor.PostAsJsonAsync($"{path}/take", new { }), HttpStatusCode.Conflict, "status");
        var loads = (await OkAsync(coordinator.GetAsync($"/api/interventions/v1/caseloads?schoolId={School}"))).GetProperty("caseloads").EnumerateArray();
        Assert.Contains(loads, l => l.GetProperty("staffId").GetString() == Counselor && l.GetProperty("active").GetInt32() >= 1);
    }

    [Fact]
    public async Task Bad_values_name_their_field_and_other_schools_and_coordinators_cannot_take()
    {
        var path = await OpenAsync();
        using var counselor = As(Counselor);
        await AssertProblemAsync(counselor.PostAsJsonAsync($"{path}/contacts", new { with = "neighbour", how = "call" }), HttpStatusCode.BadRequest, "with");
        await AssertProblemAsync(counselor.PostAsJsonAsync($"{path}/contacts", new { with = "student", how = "pigeon" }), HttpStatusCode.BadRequest, "how");
        await AssertProblemAsync(counselor.PutAsJsonAsync($"{path}/next-check-in", new { date = "next week" }), HttpStatusCode.BadRequest, "date");
        await AssertProblemAsync(counselor.PutAsJsonAsync($"{path}/next-check-in", new { date = "2020-01-01" }), HttpStatusCode.BadRequest, "date");
        await AssertProblemAsync(counselor.PostAsJsonAsync($"{path}/take", new { by = Other }), HttpStatusCode.BadRequest, "by");

        using var other = As(Other);
        await AssertProblemAsync(other.PostAsJsonAsync($"{path}/take", new { }), HttpStatusCode.NotFound);
        using var coordinator = As(Coordinator);
        await AssertProblemAsync(coordinator.PostAsJsonAsync($"{path}/take", new { }), HttpStatusCode.Forbidden);
        await AssertProblemAsync(counselor.PostAsJsonAsync("/api/interventions/v1/cases/not-a-case/take", new { }), HttpStatusCode.BadRequest, "caseId");

        // Nothing above changed the case.
        var untouched = await OkAsync(coordinator.GetAsync(path));
        Assert.Equal("open", untouched.GetProperty("status").GetString());
        Assert.Equal("", untouched.GetProperty("nextCheckIn").GetString());
    }

    [Fact]
    public async Task The_case_shows_whom_to_call_the_newest_record_of_each_family_contact_and_only_to_its_school()
    {
        var student = $"stu-{Guid.NewGuid():N}";
        using var coordinator = As(Coordinator);
        using var opened = await coordinator.PostAsJsonAsync("/api/interventions/v1/cases", new { studentId = student, schoolId = School, reason = "Missed mornings." });
        Assert.Equal(HttpStatusCode.Created, opened.StatusCode);
        var path = $"/api/interventions/v1/cases/{(await opened.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("caseId").GetGuid()}";

        // What Ingestion publishes from a OneRoster bundle's agents: a mother, a grandmother; then the mother's new phone,
        // and a stale copy of her first record arriving last (redelivered or reordered): the newest stays.
        var bus = service.Services.GetRequiredService<MassTransit.IBus>();
        var t = DateTimeOffset.UtcNow;
        await bus.Publish(new StudentContactRecorded(student, "p-1", "parent", "Ana", "Diaz", "ana@example.org", "+15550101", null, t.AddMinutes(-10)));
        await bus.Publish(new StudentContactRecorded(student, "r-1", "relative", "Rosa", "Diaz", null, "+15550102", null, t.AddMinutes(-10)));
        await bus.Publish(new StudentContactRecorded(student, "p-1", "parent", "Ana", "Diaz", "ana@example.org", "+15550199", "+15550199", t));
        var family = await Eventually.WaitAsync(() => OkAsync(As(Counselor).GetAsync($"{path}/family")),
            f => f.GetProperty("contacts").EnumerateArray().Any(c => c.GetProperty("phone").GetString() == "+15550199")
                && f.GetProperty("contacts").GetArrayLength() == 2, TimeSpan.FromSeconds(30));
        await bus.Publish(new StudentContactRecorded(student, "p-1", "parent", "Ana", "Diaz", "ana@example.org", "+15550101", null, t.AddMinutes(-10)));
        await Task.Delay(TimeSpan.FromSeconds(2));
        family = await OkAsync(As(Counselor).GetAsync($"{path}/family"));
        var contacts = family.GetProperty("contacts").EnumerateArray().ToArray();
        Assert.Equal(student, family.GetProperty("studentId").GetString());
        Assert.Equal(["p-1", "r-1"], contacts.Select(c => c.GetProperty("contactId").GetString()));   // parents and guardians first
        Assert.Equal(("parent", "+15550199", "+15550199"), (contacts[0].GetProperty("relationship").GetString(), contacts[0].GetProperty("phone").GetString(), contacts[0].GetProperty("sms").GetString()));

        // Another school's counselor cannot see the case, so not its family either; a bad id is a 400.
        await AssertProblemAsync(As(Other).GetAsync($"{path}/family"), HttpStatusCode.NotFound);
        await AssertProblemAsync(As(Counselor).GetAsync("/api/interventions/v1/cases/not-a-guid/family"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_counselor_who_leaves_the_roster_frees_their_cases_for_the_coordinator_and_stops_helping()
    {
        var leaver = $"iv-leaver-{Guid.NewGuid():N}"[..20];
        using var coordinator = As(Coordinator);
        var owned = await OpenAsync();
        var helped = await OpenAsync();
        (await coordinator.PostAsJsonAsync($"{owned}/assignment", new { ownerId = leaver, assignedBy = Coordinator })).EnsureSuccessStatusCode();
        (await coordinator.PostAsJsonAsync($"{helped}/assignment", new { ownerId = Counselor, helperIds = new[] { leaver }, assignedBy = Coordinator })).EnsureSuccessStatusCode();
        (await coordinator.PutAsJsonAsync($"{owned}/plan", new { type = "attendance-outreach", tier = 2, goal = "Every morning", startDate = "2026-11-23", durationWeeks = 4, checkInFrequency = "weekly", by = Coordinator })).EnsureSuccessStatusCode();

        // What Ingestion publishes for a tobedeleted counselor in a OneRoster delta; sent twice, as a redelivery would.
        var bus = service.Services.GetRequiredService<MassTransit.IBus>();
        var left = new StaffLeft(leaver, School, "counselor", "tobedeleted in users.csv (OneRoster, source sis)", DateTimeOffset.UtcNow);
        await bus.Publish(left);
        var freed = await Eventually.WaitAsync(() => OkAsync(coordinator.GetAsync(owned)), c => c.GetProperty("status").GetString() == "open", TimeSpan.FromSeconds(30));
        await bus.Publish(left);
        await Task.Delay(TimeSpan.FromSeconds(2));

        // The owned case is open and unassigned again (in the coordinator's list), its plan kept; the history says why, once.
        freed = await OkAsync(coordinator.GetAsync(owned));
        Assert.Equal("", freed.GetProperty("assignedTo").GetString());
        Assert.Equal("attendance-outreach", freed.GetProperty("plan").GetProperty("type").GetString());
        var open = await OkAsync(coordinator.GetAsync($"/api/interventions/v1/cases?schoolId={School}&status=open"));
        Assert.Contains(open.GetProperty("cases").EnumerateArray(), c => owned.EndsWith(c.GetProperty("caseId").GetString()!, StringComparison.Ordinal));
        var history = (await OkAsync(coordinator.GetAsync($"{owned}/activity"))).GetProperty("activity").EnumerateArray().Where(a => a.GetProperty("kind").GetString() == "staff-left").ToList();
        var line = Assert.Single(history);
        Assert.Contains("needs a new owner", line.GetProperty("text").GetString());

        // Where they only helped, the owner keeps the case and the helper is gone.
        var stays = await OkAsync(coordinator.GetAsync(helped));
        Assert.Equal(Counselor, stays.GetProperty("assignedTo").GetString());
        Assert.Equal("assigned", stays.GetProperty("status").GetString());
        Assert.Equal(0, stays.GetProperty("helperIds").GetArrayLength());
    }
}
