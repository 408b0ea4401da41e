extern alias Ingestion;

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.Interventions.Domain;
using Beacon.Interventions.Storage;
using Beacon.Messaging;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using IngestionProgram = Ingestion::Program;

namespace Beacon.Interventions.Tests;

/// <summary>
/// The case API end to end in memory (real SQLite, real RabbitMQ, a real Ingestion answering the
/// roster question over gRPC): the status flow, rule breaks as problem details, events in the outbox.
/// </summary>
public sealed class CaseApiTests : IAsyncLifetime
{
    private readonly ServiceFactory<IngestionProgram> _ingestion = new();
    private ServiceFactory<Program> _service = null!;
    private HttpClient _client = null!;
    private readonly string _school = $"sch-{Guid.NewGuid():N}"[..12];

    public async Task InitializeAsync()
    {
        _service = new ServiceFactory<Program> { BusScope = _ingestion.BusScope, ClientHandlers = { ["RosterClient"] = () => _ingestion.Server.CreateHandler() } };
        await _ingestion.WaitUntilReadyAsync();
        await _service.WaitUntilReadyAsync();
        _client = _service.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _service.DisposeAsync();
        await _ingestion.DisposeAsync();
    }

    private async Task<Guid> OpenAsync(string student)
    {
        using var response = await _client.PostAsJsonAsync("/api/interventions/v1/cases",
            new { studentId = student, schoolId = _school, reason = "Teacher concern: missed three mornings." });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("caseId").GetGuid();
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpMethod method, string path, object body)
    {
        using var response = await _client.SendAsync(new HttpRequestMessage(method, path) { Content = JsonContent.Create(body) });
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    private Task<int> OutboxCountAsync(string eventName, Guid caseId) =>
        _service.WithDbAsync<InterventionsDbContext, int>(db =>
            db.Set<OutboxMessage>().CountAsync(m => m.MessageType.Contains(eventName) && m.Body.Contains(caseId.ToString())));

    [Fact]
    public async Task A_case_goes_from_manual_open_to_completed_with_events_and_history()
    {
        var caseId = await OpenAsync($"stu-{Guid.NewGuid():N}");
        var path = $"/api/interventions/v1/cases/{caseId}";

        var (status, body) = await SendAsync(HttpMethod.Post, $"{path}/assignment", new { ownerId = "c1", helperIds = new[] { "c2" } });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("assigned", body.GetProperty("status").GetString());

        (status, body) = await SendAsync(HttpMethod.Post, $"{path}/start", new { });
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.True(body.GetProperty("errors").TryGetProperty("plan", out _));

        (status, _) = await SendAsync(HttpMethod.Put, $"{path}/plan", new
        {
            type = "attendance-outreach",
            tier = 2,
            goal = "Attend 95 % of days",
            startDate = "2026-11-02",
            durationWeeks = 4,
            checkInFrequency = "weekly",
        });
        Assert.Equal(HttpStatusCode.OK, status);
        (status, _) = await SendAsync(HttpMethod.Post, $"{path}/start", new { });
        Assert.Equal(HttpStatusCode.OK, status);
        (status, _) = await SendAsync(HttpMethod.Post, $"{path}/notes", new { text = "Met the family." });
        Assert.Equal(HttpStatusCode.OK, status);
        (status, body) = await SendAsync(HttpMethod.Post, $"{path}/completion", new { outcome = "improved" });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("completed", body.GetProperty("status").GetString());

        // Ended: nothing more may change.
        (status, body) = await SendAsync(HttpMethod.Post, $"{path}/closure", new { outcome = "duplicate" });
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("completed", body.GetProperty("caseStatus").GetString());

        var activity = await _client.GetFromJsonAsync<JsonElement>($"{path}/activity");
        Assert.Equal(["opened", "assigned", "plan-set", "started", "note", "completed"],
            activity.GetProperty("activity").EnumerateArray().Select(a => a.GetProperty("kind").GetString()));
        Assert.Equal(1, await OutboxCountAsync(nameof(InterventionAssigned), caseId));
        Assert.Equal(1, await OutboxCountAsync(nameof(InterventionOutcomeRecorded), caseId));

        // The transcoded read shows the plan and outcome.
        var read = await _client.GetFromJsonAsync<JsonElement>(path);
        Assert.Equal("attendance-outreach", read.GetProperty("plan").GetProperty("type").GetString());
        Assert.Equal("improved", read.GetProperty("outcome").GetString());
        Assert.Equal("c2", read.GetProperty("helperIds")[0].GetString());
    }

    [Fact]
    public async Task Bad_input_is_a_400_naming_the_field_and_a_second_manual_case_is_a_409()
    {
        var student = $"stu-{Guid.NewGuid():N}";
        var caseId = await OpenAsync(student);
        using var again = await _client.PostAsJsonAsync("/api/interventions/v1/cases", new { studentId = student, schoolId = _school, reason = "again" });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal(caseId, (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("caseId").GetGuid());

        var (status, body) = await SendAsync(HttpMethod.Put, $"/api/interventions/v1/cases/{caseId}/plan",
            new { type = "magic", tier = 5, goal = "", startDate = "02/11/2026", durationWeeks = 0, checkInFrequency = "hourly" });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var errors = body.GetProperty("errors");
        foreach (var field in new[] { "type", "tier", "goal", "startDate", "durationWeeks", "checkInFrequency" })
        {
            Assert.True(errors.TryGetProperty(field, out _), $"no error for {field}: {errors}");
        }

        (status, body) = await SendAsync(HttpMethod.Post, $"/api/interventions/v1/cases/{caseId}/closure", new { outcome = "solved" });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.True(body.GetProperty("errors").TryGetProperty("outcome", out _));

        using var malformed = await _client.PostAsync($"/api/interventions/v1/cases/{caseId}/notes", new StringContent("{\"text\": ", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);

        (status, _) = await SendAsync(HttpMethod.Post, $"/api/interventions/v1/cases/{Guid.NewGuid()}/start", new { });
        Assert.Equal(HttpStatusCode.NotFound, status);
        (status, body) = await SendAsync(HttpMethod.Post, "/api/interventions/v1/cases/not-a-guid/start", new { });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.True(body.GetProperty("errors").TryGetProperty("caseId", out _));
    }

    [Fact]
    public async Task Closing_as_false_alarm_publishes_the_outcome_with_the_alerts()
    {
        var caseId = await OpenAsync($"stu-{Guid.NewGuid():N}");
        var (status, _) = await SendAsync(HttpMethod.Post, $"/api/interventions/v1/cases/{caseId}/closure", new { outcome = "false-alarm", reason = "Absences were a data-entry error." });
        Assert.Equal(HttpStatusCode.OK, status);
        var body = await _service.WithDbAsync<InterventionsDbContext, string>(db =>
            db.Set<OutboxMessage>().Where(m => m.MessageType.Contains(nameof(InterventionOutcomeRecorded)) && m.Body.Contains(caseId.ToString())).Select(m => m.Body).SingleAsync());
        var outcome = JsonSerializer.Deserialize<InterventionOutcomeRecorded>(body)!;
        Assert.Equal(InterventionOutcomes.FalseAlarm, outcome.Outcome);
        Assert.Equal("closed", outcome.Status);
    }

    [Fact]
    public async Task Bulk_assignment_keeps_the_valid_cases_and_names_the_bad_ones()
    {
        var a = await OpenAsync($"stu-{Guid.NewGuid():N}");
        var b = await OpenAsync($"stu-{Guid.NewGuid():N}");
        var closed = await OpenAsync($"stu-{Guid.NewGuid():N}");
        await SendAsync(HttpMethod.Post, $"/api/interventions/v1/cases/{closed}/closure", new { outcome = "duplicate" });

        var (status, body) = await SendAsync(HttpMethod.Post, "/api/interventions/v1/assignments",
            new { caseIds = new[] { a.ToString(), "nope", b.ToString(), closed.ToString() }, ownerId = "c9" });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var errors = body.GetProperty("errors");
        Assert.Equal(["caseIds[1]", "caseIds[3]"], errors.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(2, body.GetProperty("assigned").GetArrayLength());

        var owners = await _service.WithDbAsync<InterventionsDbContext, List<string?>>(db =>
            db.Cases.Where(c => c.CaseId == a || c.CaseId == b).Select(c => c.AssignedTo).ToListAsync());
        Assert.All(owners, o => Assert.Equal("c9", o));
        var caseloads = await _client.GetFromJsonAsync<JsonElement>($"/api/interventions/v1/caseloads?schoolId={_school}");
        var c9 = caseloads.GetProperty("caseloads").EnumerateArray().Single(c => c.GetProperty("staffId").GetString() == "c9");
        Assert.Equal(2, c9.GetProperty("active").GetInt32());
    }

    [Fact]
    public async Task The_suggested_owner_is_the_schools_counselor_with_the_lightest_caseload()
    {
        using var ingestion = _ingestion.CreateClient();
        using var roster = await ingestion.PostAsJsonAsync("/api/ingestion/v1/roster", new
        {
            schools = new[] { new { schoolId = _school, name = "Test school" } },
            staff = new[]
            {
                new { staffId = $"{_school}-a", schoolId = _school, role = "counselor", givenName = "A", familyName = "One", email = "" },
                new { staffId = $"{_school}-b", schoolId = _school, role = "counselor", givenName = "B", familyName = "Two", email = "" },
                new { staffId = $"{_school}-t", schoolId = _school, role = "teacher", givenName = "T", familyName = "Three", email = "" },
            },
            students = Array.Empty<object>(),
        });
        roster.EnsureSuccessStatusCode();

        // "a" sorts first but already carries two active cases; "b" carries one.
        foreach (var owner in new[] { "a", "a", "b" })
        {
            var id = await OpenAsync($"stu-{Guid.NewGuid():N}");
            await SendAsync(HttpMethod.Post, $"/api/interventions/v1/cases/{id}/assignment", new { ownerId = $"{_school}-{owner}" });
        }
        var target = await OpenAsync($"stu-{Guid.NewGuid():N}");
        var suggestion = await _client.GetFromJsonAsync<JsonElement>($"/api/interventions/v1/cases/{target}/suggested-owner");
        Assert.Equal($"{_school}-b", suggestion.GetProperty("suggested").GetProperty("staffId").GetString());
        Assert.Equal(1, suggestion.GetProperty("suggested").GetProperty("activeCases").GetInt32());
        Assert.Equal(2, suggestion.GetProperty("candidates").GetArrayLength());
    }

    [Fact]
    public async Task An_uncontacted_case_is_escalated_once_after_the_deadline_and_a_contacted_one_never()
    {
        var silent = await OpenAsync($"stu-{Guid.NewGuid():N}");
        var contacted = await OpenAsync($"stu-{Guid.NewGuid():N}");
        await SendAsync(HttpMethod.Post, $"/api/interventions/v1/cases/{contacted}/notes", new { text = "Phoned home.", contact = true });

        async Task<int> RunAsync(DateTimeOffset now)
        {
            await using var scope = _service.Services.CreateAsyncScope();
            return await scope.ServiceProvider.GetRequiredService<OverdueCheck>().RunAsync(now, CancellationToken.None);
        }
        var due = await _service.WithDbAsync<InterventionsDbContext, DateOnly>(db => db.Cases.Where(c => c.CaseId == silent).Select(c => c.ContactDueBy).SingleAsync());
        var calendar = new SchoolCalendar();
        Assert.Equal(calendar.AddSchoolDays(DateOnly.FromDateTime(DateTime.UtcNow), 3), due);

        await RunAsync(new DateTimeOffset(due.ToDateTime(new TimeOnly(23, 0)), TimeSpan.Zero));   // the deadline day itself: not yet
        Assert.Equal(0, await OutboxCountAsync(nameof(InterventionOverdue), silent));

        var later = new DateTimeOffset(calendar.AddSchoolDays(due, 2).ToDateTime(new TimeOnly(8, 0)), TimeSpan.Zero);
        await RunAsync(later);
        await RunAsync(later.AddDays(1));
        Assert.Equal(1, await OutboxCountAsync(nameof(InterventionOverdue), silent));
        Assert.Equal(0, await OutboxCountAsync(nameof(InterventionOverdue), contacted));
        var body = await _service.WithDbAsync<InterventionsDbContext, string>(db =>
            db.Set<OutboxMessage>().Where(m => m.MessageType.Contains(nameof(InterventionOverdue)) && m.Body.Contains(silent.ToString())).Select(m => m.Body).SingleAsync());
        Assert.Equal(2, JsonSerializer.Deserialize<InterventionOverdue>(body)!.SchoolDaysOverdue);
    }
}
