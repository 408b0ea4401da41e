using System.Net.Http.Json;
using System.Text.Json;
using Beacon.EarlyWarning.Storage;
using Beacon.Testing;

namespace Beacon.EarlyWarning.Tests;

/// <summary>
/// Who may call what on Early warning, on the service itself: staff read only their schools' students
/// (lists are filtered, single students of other schools are 404 with no data); the model registry and
/// scoring controls are for ops; feeds read nothing.
/// </summary>
public sealed class SecurityTests(ServiceFactory<Program> service) : IClassFixture<ServiceFactory<Program>>, IAsyncLifetime
{
    private const string Student = "sec-ew-s1";
    private const string Reason = "Confidential reason: absent 9 of 20 days";
    public Task InitializeAsync() => service.SeedOnceAsync(() => service.WithDbAsync<EarlyWarningDbContext, int>(db =>
    {
        db.RiskStates.Add(new StudentRiskState { StudentId = Student, SchoolId = Callers.School, DaysEnrolled = 20, DaysAbsent = 9, ChronicallyAbsent = true });
        db.Alerts.Add(new RiskAlert { AlertId = Guid.NewGuid(), StudentId = Student, SchoolId = Callers.School, Kind = "chronic-absence", Reason = Reason, Score = 0.45, RaisedAt = DateTimeOffset.UtcNow });
        db.RiskScores.Add(new StudentRiskScore { StudentId = Student, Kind = "chronic-absence", SchoolId = Callers.School, Score = 0.8, Band = "high", Flagged = true, FactorsJson = "[]", ScoredAt = DateTimeOffset.UtcNow });
        return db.SaveChangesAsync();
    }));

    public Task DisposeAsync() => Task.CompletedTask;

    public static TheoryData<string, string, string, int> Rules => new()
    {
        // The API description is documentation, not data: anyone may read it (OpenApiExtensions.MapDefaultOpenApi).
        { "GET", "/openapi/v1.json", "none", 200 },
        { "GET", "/api/early-warning/v1/alerts", "none", 401 },
        { "GET", "/api/early-warning/v1/alerts", "expired", 401 },
        { "GET", "/api/early-warning/v1/alerts", "tampered", 401 },
        { "GET", "/api/early-warning/v1/alerts", "forged", 401 },
        { "GET", "/api/early-warning/v1/alerts", "feed", 403 },
        { "GET", "/api/early-warning/v1/alerts", "ops", 403 },
        { "GET", "/api/early-warning/v1/alerts", "counselor", 200 },
        { "GET", "/api/early-warning/v1/risks", "feed", 403 },
        { "GET", "/api/early-warning/v1/risks", "ops", 403 },
        { "GET", $"/api/early-warning/v1/students/{Student}/indicators", "counselor-other", 404 },
        { "GET", $"/api/early-warning/v1/students/{Student}/indicators", "coordinator-other", 404 },
        { "GET", $"/api/early-warning/v1/students/{Student}/indicators", "counselor", 200 },
        { "GET", $"/api/early-warning/v1/students/{Student}/risk", "counselor-other", 404 },
        { "GET", $"/api/early-warning/v1/students/{Student}/risk", "coordinator", 200 },
        { "GET", $"/api/early-warning/v1/students/{Student}/risk", "ops", 403 },
        { "GET", "/api/early-warning/v1/models", "counselor", 403 },
        { "GET", "/api/early-warning/v1/models", "ops", 200 },
        { "POST", "/api/early-warning/v1/models/train", "counselor", 403 },
        { "POST", "/api/early-warning/v1/models/train", "coordinator", 403 },
        { "POST", "/api/early-warning/v1/models/rollback", "feed", 403 },
        { "POST", "/api/early-warning/v1/models/rescore", "counselor", 403 },
        { "GET", "/api/early-warning/v1/scoring/nightly", "counselor", 403 },
        { "GET", "/api/early-warning/v1/jobs", "counselor", 403 },
        { "GET", "/api/early-warning/v1/jobs", "ops", 200 },
        { "GET", "/api/early-warning/v1/monitoring/calibration", "none", 401 },
        { "GET", "/api/early-warning/v1/monitoring/calibration", "counselor", 403 },
        { "GET", "/api/early-warning/v1/monitoring/calibration", "ops", 200 },
        // The monitoring backfill writes history: ops and administrators only (ops admitted: no active model here, so 409).
        { "POST", "/api/early-warning/v1/monitoring/backfill", "none", 401 },
        { "POST", "/api/early-warning/v1/monitoring/backfill", "counselor", 403 },
        { "POST", "/api/early-warning/v1/monitoring/backfill", "coordinator", 403 },
        { "POST", "/api/early-warning/v1/monitoring/backfill", "ops", 409 },
        { "GET", "/api/early-warning/v1/monitoring/backfills", "counselor", 403 },
        { "GET", "/api/early-warning/v1/monitoring/backfills", "ops", 200 },
        { "POST", "/api/early-warning/v1/retention/run", "none", 401 },
        { "POST", "/api/early-warning/v1/retention/run", "counselor", 403 },
        { "POST", "/api/early-warning/v1/retention/run", "ops", 403 },
        { "POST", "/api/early-warning/v1/retention/run", "feed", 403 },
        { "POST", "/api/early-warning/v1/retention/run", "admin", 200 },
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public async Task Each_endpoint_admits_only_its_callers(string method, string path, string who, int expected)
    {
        using var client = service.CreateClientAs(null);
        await Callers.AssertAsync(client, method, path, who, expected, Reason);
    }

    [Fact]
    public async Task Lists_show_a_counselor_only_the_students_of_their_own_schools()
    {
        using var own = service.CreateClientAs(Callers.Token("counselor"));
        var ownAlerts = await own.GetFromJsonAsync<JsonElement>("/api/early-warning/v1/alerts");
        Assert.Contains(ownAlerts.GetProperty("alerts").EnumerateArray(), a => a.GetProperty("studentId").GetString() == Student);
        var ownRisks = await own.GetFromJsonAsync<JsonElement>("/api/early-warning/v1/risks");
        Assert.Contains(ownRisks.GetProperty("risks").EnumerateArray(), r => r.GetProperty("studentId").GetString() == Student);

        using var other = service.CreateClientAs(Callers.Token("counselor-other"));
        var otherAlerts = await other.GetStringAsync("/api/early-warning/v1/alerts");
        var otherRisks = await other.GetStringAsync($"/api/early-warning/v1/risks?schoolId={Callers.School}");
        Assert.DoesNotContain(Student, otherAlerts);
        Assert.DoesNotContain(Student, otherRisks);
    }
}
