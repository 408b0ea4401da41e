using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Testing;

namespace Beacon.Interventions.Tests;

/// <summary>
/// Who may do what with outreach cases, on the service itself: staff work on cases of their own schools
/// only (other schools' cases are 404 with no data), assigning is for coordinators, the effect report
/// (aggregates) for coordinators and ops; feeds can do nothing here.
/// </summary>
public sealed class SecurityTests(ServiceFactory<Program> service) : IClassFixture<ServiceFactory<Program>>, IAsyncLifetime
{
    private const string Student = "sec-iv-s1";
    private const string Reason = "Confidential: family situation";
    private string? _caseId;

    public async Task InitializeAsync() => _caseId = await service.SeedOnceAsync(async () =>
    {
        using var admin = service.CreateClient();
        using var response = await admin.PostAsJsonAsync("/api/interventions/v1/cases",
            new { studentId = Student, schoolId = Callers.School, reason = Reason, openedBy = "test-admin" });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("caseId").GetString();
    });

    public Task DisposeAsync() => Task.CompletedTask;

    public static TheoryData<string, string, string, int> Rules => new()
    {
        // The API description is documentation, not data: anyone may read it (OpenApiExtensions.MapDefaultOpenApi).
        { "GET", "/openapi/v1.json", "none", 200 },
        { "GET", "/api/interventions/v1/jobs", "counselor", 403 },
        { "GET", "/api/interventions/v1/jobs", "ops", 200 },
        { "GET", "/api/interventions/v1/cases", "none", 401 },
        { "GET", "/api/interventions/v1/cases", "expired", 401 },
        { "GET", "/api/interventions/v1/cases", "tampered", 401 },
        { "GET", "/api/interventions/v1/cases", "feed", 403 },
        { "GET", "/api/interventions/v1/cases", "ops", 403 },
        { "GET", "/api/interventions/v1/cases", "counselor", 200 },
        { "GET", "/api/interventions/v1/cases/{case}", "counselor-other", 404 },
        { "GET", "/api/interventions/v1/cases/{case}", "coordinator-other", 404 },
        { "GET", "/api/interventions/v1/cases/{case}", "counselor", 200 },
        { "GET", "/api/interventions/v1/cases/{case}/activity", "counselor-other", 404 },
        { "GET", "/api/interventions/v1/cases/{case}/activity", "counselor", 200 },
        { "POST", "/api/interventions/v1/cases/{case}/notes", "counselor-other", 404 },
        { "POST", "/api/interventions/v1/cases/{case}/notes", "feed", 403 },
        { "POST", "/api/interventions/v1/cases/{case}/assignment", "counselor", 403 },
        { "POST", "/api/interventions/v1/cases/{case}/assignment", "coordinator-other", 404 },
        { "POST", "/api/interventions/v1/assignments", "counselor", 403 },
        { "GET", "/api/interventions/v1/cases/{case}/suggested-owner", "counselor", 403 },
        { "GET", "/api/interventions/v1/caseloads", "counselor", 403 },
        { "GET", "/api/interventions/v1/caseloads", "coordinator", 200 },
        { "POST", "/api/interventions/v1/cases", "ops", 403 },
        { "GET", "/api/interventions/v1/effect-report", "counselor", 403 },
        { "GET", "/api/interventions/v1/effect-report", "feed", 403 },
        { "GET", "/api/interventions/v1/effect-report", "ops", 200 },
        // Group interventions are for teachers and coordinators (policy teaching); their mastery effect is aggregates only.
        { "POST", "/api/interventions/v1/group-interventions", "none", 401 },
        { "POST", "/api/interventions/v1/group-interventions", "counselor", 403 },
        { "POST", "/api/interventions/v1/group-interventions", "ops", 403 },
        { "POST", "/api/interventions/v1/group-interventions", "feed", 403 },
        { "POST", "/api/interventions/v1/group-interventions", "coordinator", 400 },
        { "GET", "/api/interventions/v1/group-interventions", "counselor", 403 },
        { "GET", "/api/interventions/v1/group-interventions", "coordinator", 200 },
        { "GET", $"/api/interventions/v1/group-interventions/{Guid.Empty}", "coordinator", 404 },
        { "GET", "/api/interventions/v1/mastery-effect", "none", 401 },
        { "GET", "/api/interventions/v1/mastery-effect", "counselor", 403 },
        { "GET", "/api/interventions/v1/mastery-effect", "feed", 403 },
        { "GET", "/api/interventions/v1/mastery-effect", "ops", 200 },
        { "GET", "/api/interventions/v1/mastery-effect", "coordinator", 200 },
        { "GET", $"/api/interventions/v1/effect-report?schoolId={Callers.School}", "coordinator-other", 404 },
        // What works per staff hour: aggregates for coordinators and ops; a case's suggestions for staff who see the case.
        { "GET", "/api/interventions/v1/resource-report", "none", 401 },
        { "GET", "/api/interventions/v1/resource-report", "counselor", 403 },
        { "GET", "/api/interventions/v1/resource-report", "feed", 403 },
        { "GET", "/api/interventions/v1/resource-report", "ops", 200 },
        { "GET", "/api/interventions/v1/resource-report", "coordinator", 200 },
        { "GET", $"/api/interventions/v1/resource-report?schoolId={Callers.School}", "coordinator-other", 404 },
        { "GET", "/api/interventions/v1/cases/{case}/suggested-types", "none", 401 },
        { "GET", "/api/interventions/v1/cases/{case}/suggested-types", "ops", 403 },
        { "GET", "/api/interventions/v1/cases/{case}/suggested-types", "counselor-other", 404 },
        { "GET", "/api/interventions/v1/cases/{case}/suggested-types", "counselor", 200 },
        // Tests of change: created by coordinators, read (aggregates) by coordinators and ops; a case's part in them by staff who see the case.
        { "POST", "/api/interventions/v1/tests-of-change", "none", 401 },
        { "POST", "/api/interventions/v1/tests-of-change", "counselor", 403 },
        { "POST", "/api/interventions/v1/tests-of-change", "ops", 403 },
        { "POST", "/api/interventions/v1/tests-of-change", "coordinator", 400 },
        { "GET", "/api/interventions/v1/tests-of-change", "counselor", 403 },
        { "GET", "/api/interventions/v1/tests-of-change", "feed", 403 },
        { "GET", "/api/interventions/v1/tests-of-change", "ops", 200 },
        { "GET", "/api/interventions/v1/tests-of-change", "coordinator", 200 },
        { "GET", $"/api/interventions/v1/tests-of-change/{Guid.Empty}/report", "coordinator", 404 },
        { "GET", "/api/interventions/v1/cases/{case}/tests-of-change", "counselor-other", 404 },
        { "GET", "/api/interventions/v1/cases/{case}/tests-of-change", "counselor", 200 },
        { "POST", "/api/interventions/v1/retention/run", "none", 401 },
        { "POST", "/api/interventions/v1/retention/run", "counselor", 403 },
        { "POST", "/api/interventions/v1/retention/run", "ops", 403 },
        { "POST", "/api/interventions/v1/retention/run", "feed", 403 },
        { "POST", "/api/interventions/v1/retention/run", "admin", 200 },
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public async Task Each_endpoint_admits_only_its_callers(string method, string path, string who, int expected)
    {
        using var client = service.CreateClientAs(null);
        await Callers.AssertAsync(client, method, path.Replace("{case}", _caseId), who, expected, Reason);
    }

    [Fact]
    public async Task The_case_list_shows_a_counselor_only_their_schools_cases()
    {
        using var own = service.CreateClientAs(Callers.Token("counselor"));
        Assert.Contains(Student, await own.GetStringAsync("/api/interventions/v1/cases"));
        using var other = service.CreateClientAs(Callers.Token("counselor-other"));
        Assert.DoesNotContain(Student, await other.GetStringAsync("/api/interventions/v1/cases"));
    }

    [Fact]
    public async Task A_counselor_cannot_open_a_case_for_another_schools_student()
    {
        using var other = service.CreateClientAs(Callers.Token("counselor-other"));
        using var response = await other.PostAsJsonAsync("/api/interventions/v1/cases",
            new { studentId = "sec-iv-s2", schoolId = Callers.School, reason = "x", openedBy = Callers.OtherCounselorId });
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, response.StatusCode);
    }
}
