using System.Net;
using System.Net.Http.Json;
using Beacon.Testing;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// Who may call what on Ingestion, checked on the service itself (a call that goes around the gateway
/// is refused just the same): feeds write but never read, staff read only their schools' students,
/// raw data and the event log are for administrators.
/// </summary>
public sealed class SecurityTests(ServiceFactory<Program> service) : IClassFixture<ServiceFactory<Program>>, IAsyncLifetime
{
    private const string Student = "sec-s1";
    private const string FamilyName = "Confidentialsson";

    public Task InitializeAsync() => service.SeedOnceAsync(SeedAsync);

    private async Task SeedAsync()
    {
        using var admin = service.CreateClient();
        using var response = await admin.PostAsJsonAsync("/api/ingestion/v1/roster", new
        {
            schools = new[] { new { schoolId = Callers.School, name = "North" } },
            staff = new[] { new { staffId = Callers.CounselorId, schoolId = Callers.School, role = "counselor", givenName = "Ana", familyName = "Lopez", email = "ana@example.edu" } },
            students = new[] { new { studentId = Student, schoolId = Callers.School, givenName = "Private", familyName = FamilyName, gradeLevel = "9" } },
        });
        response.EnsureSuccessStatusCode();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public static TheoryData<string, string, string, int> Rules => new()
    {
        // The API description is documentation, not data: anyone may read it (OpenApiExtensions.MapDefaultOpenApi).
        { "GET", "/openapi/v1.json", "none", 200 },
        { "POST", "/api/ingestion/v1/attendance", "none", 401 },
        { "POST", "/api/ingestion/v1/attendance", "expired", 401 },
        { "POST", "/api/ingestion/v1/attendance", "forged", 401 },
        { "POST", "/api/ingestion/v1/attendance", "tampered", 401 },
        { "POST", "/api/ingestion/v1/attendance", "counselor", 403 },
        { "POST", "/api/ingestion/v1/attendance", "ops", 403 },
        { "POST", "/api/ingestion/v1/attendance", "feed", 200 },
        { "POST", "/api/ingestion/v1/roster", "coordinator", 403 },
        { "POST", "/api/ingestion/v1/item-responses", "counselor", 403 },
        { "POST", "/api/ingestion/v1/grades", "ops", 403 },
        { "POST", "/api/ingestion/v1/behavior-incidents", "counselor", 403 },
        { "POST", "/api/ingestion/v1/xapi/statements", "counselor", 403 },
        { "POST", "/api/ingestion/v1/xapi/credentials", "feed", 403 },
        { "POST", "/api/ingestion/v1/xapi/credentials", "ops", 403 },
        { "GET", "/api/ingestion/v1/xapi/credentials", "ops", 403 },
        { "GET", "/api/ingestion/v1/xapi/credentials", "admin", 200 },
        { "DELETE", "/api/ingestion/v1/xapi/credentials/xk_none", "counselor", 403 },
        { "DELETE", "/api/ingestion/v1/xapi/credentials/xk_none", "admin", 404 },
        { "POST", "/api/ingestion/v1/oneroster", "ops", 403 },
        { "GET", "/api/ingestion/v1/oneroster/connector", "counselor", 403 },
        { "GET", "/api/ingestion/v1/oneroster/connector", "feed", 403 },
        { "GET", "/api/ingestion/v1/oneroster/connector", "ops", 200 },
        { "GET", "/api/ingestion/v1/jobs", "coordinator", 403 },
        { "POST", "/api/ingestion/v1/jobs/oneroster-rest-pull/run", "feed", 403 },
        { "POST", "/api/ingestion/v1/jobs/oneroster-rest-pull/run", "counselor", 403 },
        // Off by default, so no replica planned the pull: nothing to run.
        { "POST", "/api/ingestion/v1/jobs/oneroster-rest-pull/run", "ops", 404 },
        { "GET", $"/api/ingestion/v1/students/{Student}", "none", 401 },
        { "GET", $"/api/ingestion/v1/students/{Student}", "feed", 403 },
        { "GET", $"/api/ingestion/v1/students/{Student}", "ops", 403 },
        { "GET", $"/api/ingestion/v1/students/{Student}", "counselor-other", 404 },
        { "GET", $"/api/ingestion/v1/students/{Student}", "coordinator-other", 404 },
        { "GET", $"/api/ingestion/v1/students/{Student}", "counselor", 200 },
        { "GET", $"/api/ingestion/v1/students/{Student}", "coordinator", 200 },
        { "GET", $"/api/ingestion/v1/students/{Student}/attendance", "counselor-other", 404 },
        { "GET", $"/api/ingestion/v1/students/{Student}/attendance", "feed", 403 },
        { "GET", $"/api/ingestion/v1/students/{Student}/attendance", "counselor", 200 },
        { "GET", $"/api/ingestion/v1/schools/{Callers.School}/counselors", "counselor-other", 404 },
        { "GET", $"/api/ingestion/v1/schools/{Callers.School}/counselors", "service", 200 },
        { "GET", "/api/ingestion/v1/quarantine", "feed", 403 },
        { "GET", "/api/ingestion/v1/quarantine", "counselor", 403 },
        { "GET", "/api/ingestion/v1/quarantine", "admin", 200 },
        { "DELETE", "/api/ingestion/v1/quarantine/1", "coordinator", 403 },
        { "POST", "/api/ingestion/v1/quarantine/1/resubmit", "feed", 403 },
        { "GET", "/api/ingestion/v1/batches/some-batch", "counselor", 403 },
        { "GET", "/api/ingestion/v1/data-quality", "counselor", 403 },
        { "GET", "/api/ingestion/v1/data-quality", "ops", 200 },
        { "GET", "/api/ingestion/v1/data-quality/export", "counselor", 403 },
        { "GET", "/api/ingestion/v1/data-quality/export", "feed", 403 },
        { "GET", "/api/ingestion/v1/data-quality/export", "ops", 200 },
        { "GET", "/api/ingestion/v1/students?q=Confidentialsson", "feed", 403 },
        { "GET", "/api/ingestion/v1/students?q=Confidentialsson", "ops", 403 },
        { "GET", "/api/ingestion/v1/students?q=Confidentialsson", "counselor-other", 200 },
        { "POST", "/api/ingestion/v1/replay", "ops", 403 },
        { "GET", "/api/ingestion/v1/outbox", "coordinator", 403 },
        { "POST", "/api/ingestion/v1/students/sec-erase-1/erasure", "none", 401 },
        { "POST", "/api/ingestion/v1/students/sec-erase-1/erasure", "counselor", 403 },
        { "POST", "/api/ingestion/v1/students/sec-erase-1/erasure", "feed", 403 },
        { "POST", "/api/ingestion/v1/students/sec-erase-1/erasure", "ops", 403 },
        { "POST", "/api/ingestion/v1/students/sec-erase-1/erasure", "admin", 202 },
        { "GET", "/api/ingestion/v1/erasures", "none", 401 },
        { "GET", "/api/ingestion/v1/erasures", "counselor", 403 },
        { "GET", "/api/ingestion/v1/erasures", "feed", 403 },
        { "GET", "/api/ingestion/v1/erasures", "ops", 403 },
        { "GET", "/api/ingestion/v1/erasures", "admin", 200 },
        { "GET", "/api/ingestion/v1/erasures/00000000-0000-0000-0000-000000000001", "counselor", 403 },
        { "GET", "/api/ingestion/v1/erasures/00000000-0000-0000-0000-000000000001", "admin", 404 },
        { "POST", "/api/ingestion/v1/retention/run", "none", 401 },
        { "POST", "/api/ingestion/v1/retention/run", "ops", 403 },
        { "POST", "/api/ingestion/v1/retention/run", "feed", 403 },
        { "POST", "/api/ingestion/v1/retention/run", "admin", 200 },
        { "GET", "/healthz/ready", "none", 200 },
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public async Task Each_endpoint_admits_only_its_callers(string method, string path, string who, int expected)
    {
        using var client = service.CreateClientAs(null);
        await Callers.AssertAsync(client, method, path, who, expected, FamilyName, "Private");
    }

    [Fact]
    public async Task A_counselor_of_the_school_sees_the_student_and_one_of_another_school_sees_nothing()
    {
        using var own = service.CreateClientAs(Callers.Token("counselor"));
        Assert.Contains(FamilyName, await own.GetStringAsync($"/api/ingestion/v1/students/{Student}"));
        using var other = service.CreateClientAs(Callers.Token("counselor-other"));
        using var response = await other.GetAsync($"/api/ingestion/v1/students/{Student}");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain(FamilyName, await response.Content.ReadAsStringAsync());
    }
}
