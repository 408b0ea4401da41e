using Beacon.Mastery.Storage;
using Beacon.Testing;

namespace Beacon.Mastery.Tests;

/// <summary>
/// Mastery on the service itself: staff read students and school overviews of their own schools only;
/// refitting is for ops, editing the skill graph for administrators; feeds read nothing.
/// </summary>
public sealed class SecurityTests(ServiceFactory<Program> service) : IClassFixture<ServiceFactory<Program>>, IAsyncLifetime
{
    private const string Student = "sec-ma-s1";
    public Task InitializeAsync() => service.SeedOnceAsync(() => service.WithDbAsync<MasteryDbContext, int>(db =>
    {
        db.Students.Add(new EnrolledStudent { StudentId = Student, SchoolId = Callers.School });
        return db.SaveChangesAsync();
    }));

    public Task DisposeAsync() => Task.CompletedTask;

    public static TheoryData<string, string, string, int> Rules => new()
    {
        // The API description is documentation, not data: anyone may read it (OpenApiExtensions.MapDefaultOpenApi).
        { "GET", "/openapi/v1.json", "none", 200 },
        { "GET", $"/api/mastery/v1/students/{Student}/mastery", "none", 401 },
        { "GET", $"/api/mastery/v1/students/{Student}/mastery", "tampered", 401 },
        { "GET", $"/api/mastery/v1/students/{Student}/mastery", "feed", 403 },
        { "GET", $"/api/mastery/v1/students/{Student}/mastery", "ops", 403 },
        { "GET", $"/api/mastery/v1/students/{Student}/mastery", "counselor-other", 404 },
        { "GET", $"/api/mastery/v1/students/{Student}/mastery", "counselor", 200 },
        { "GET", $"/api/mastery/v1/students/{Student}/summary", "counselor-other", 404 },
        { "GET", $"/api/mastery/v1/students/{Student}/summary", "coordinator", 200 },
        { "GET", $"/api/mastery/v1/schools/{Callers.School}/overview", "counselor-other", 404 },
        { "GET", $"/api/mastery/v1/schools/{Callers.School}/overview", "counselor", 200 },
        { "GET", $"/api/mastery/v1/schools/{Callers.School}/overview", "feed", 403 },
        { "POST", "/api/mastery/v1/skills/refit", "counselor", 403 },
        // Sections are for teachers (their own), coordinators and administrators; counselors read schools, not sections.
        { "GET", "/api/mastery/v1/sections", "none", 401 },
        { "GET", "/api/mastery/v1/sections", "counselor", 403 },
        { "GET", "/api/mastery/v1/sections", "ops", 403 },
        { "GET", "/api/mastery/v1/sections", "feed", 403 },
        { "GET", "/api/mastery/v1/sections", "coordinator", 200 },
        { "GET", "/api/mastery/v1/sections/sec-unknown/week", "coordinator", 404 },
        { "GET", "/api/mastery/v1/sections/sec-unknown/week", "counselor", 403 },
        { "PUT", "/api/mastery/v1/skills", "coordinator", 403 },
        { "GET", "/api/mastery/v1/skills", "counselor", 200 },
        { "POST", "/api/mastery/v1/retention/run", "none", 401 },
        { "POST", "/api/mastery/v1/retention/run", "counselor", 403 },
        { "POST", "/api/mastery/v1/retention/run", "ops", 403 },
        { "POST", "/api/mastery/v1/retention/run", "feed", 403 },
        { "POST", "/api/mastery/v1/retention/run", "admin", 200 },
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public async Task Each_endpoint_admits_only_its_callers(string method, string path, string who, int expected)
    {
        using var client = service.CreateClientAs(null);
        await Callers.AssertAsync(client, method, path, who, expected);
    }
}
