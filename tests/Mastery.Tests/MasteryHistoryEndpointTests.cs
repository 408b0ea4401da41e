using System.Net;
using System.Text.Json;
using Beacon.Mastery.Storage;
using Beacon.Testing;

namespace Beacon.Mastery.Tests;

/// <summary>The weekly mastery history the dashboard draws: end-of-week values from stored answer steps, in a real (SQLite) database.</summary>
public sealed class MasteryHistoryEndpointTests : IAsyncLifetime
{
    private readonly ServiceFactory<Program> _service = new();
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        await _service.WaitUntilReadyAsync();
        _http = _service.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _service.DisposeAsync();
    }

    private static MasteryStep Step(string student, string skill, string at, double p) =>
        new() { StudentId = student, SkillId = skill, ItemId = $"i-{Guid.NewGuid():N}", AttemptNumber = 1, Correct = true, AnsweredAt = DateTimeOffset.Parse(at), ProbabilityAfter = p };

    [Fact]
    public async Task Each_week_ends_with_the_last_answer_so_far_and_weeks_before_the_first_answer_are_null()
    {
        var student = $"stu-{Guid.NewGuid():N}";
        await _service.WithDbAsync<MasteryDbContext, int>(db =>
        {
            db.Students.Add(new EnrolledStudent { StudentId = student, SchoolId = "north" });
            db.Skills.Add(new Skill { SkillId = $"fractions-{student}", Name = "Fractions" });
            db.Steps.AddRange(
                Step(student, $"fractions-{student}", "2026-11-02T09:00:00Z", 0.30),   // Monday, week of 11-02
                Step(student, $"fractions-{student}", "2026-11-08T22:00:00Z", 0.45),   // Sunday, same week: the last one counts
                Step(student, $"decimals-{student}", "2026-11-10T09:00:00Z", 0.20),    // week of 11-09
                Step(student, $"fractions-{student}", "2026-11-24T09:00:00Z", 0.70));  // week of 11-23 (11-16 has none)
            return db.SaveChangesAsync();
        });

        using var response = await _http.GetAsync($"/api/mastery/v1/students/{student}/mastery/weekly");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.Equal(["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"], json.GetProperty("weekStarts").EnumerateArray().Select(w => w.GetString()));
        var skills = json.GetProperty("skills").EnumerateArray().ToDictionary(s => s.GetProperty("skillId").GetString()!);
        Assert.Equal([null, 0.20, 0.20, 0.20], Values(skills[$"decimals-{student}"]));
        Assert.Equal([0.45, 0.45, 0.45, 0.70], Values(skills[$"fractions-{student}"]));
        Assert.Equal("Fractions", skills[$"fractions-{student}"].GetProperty("skillName").GetString());

        // Only the last N weeks; the value carried into the window still comes from before it.
        var two = JsonDocument.Parse(await _http.GetStringAsync($"/api/mastery/v1/students/{student}/mastery/weekly?weeks=2")).RootElement;
        Assert.Equal(["2026-11-16", "2026-11-23"], two.GetProperty("weekStarts").EnumerateArray().Select(w => w.GetString()));
        Assert.Equal([0.20, 0.20], Values(two.GetProperty("skills").EnumerateArray().Single(s => s.GetProperty("skillId").GetString() == $"decimals-{student}")));
    }

    [Fact]
    public async Task Bad_week_counts_are_400_and_unknown_students_404()
    {
        using var bad = await _http.GetAsync("/api/mastery/v1/students/stu-x/mastery/weekly?weeks=0");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("weeks", await bad.Content.ReadAsStringAsync());
        using var unknown = await _http.GetAsync($"/api/mastery/v1/students/stu-{Guid.NewGuid():N}/mastery/weekly");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Only_staff_of_the_students_school_see_the_history()
    {
        var student = $"stu-{Guid.NewGuid():N}";
        await _service.WithDbAsync<MasteryDbContext, int>(db =>
        {
            db.Students.Add(new EnrolledStudent { StudentId = student, SchoolId = "north" });
            db.Steps.Add(Step(student, "fractions", "2026-11-02T09:00:00Z", 0.30));
            return db.SaveChangesAsync();
        });
        var url = $"/api/mastery/v1/students/{student}/mastery/weekly";

        using var own = _service.CreateClientAs(TestTokens.Counselor("c-north-1", "north"));
        Assert.Equal(HttpStatusCode.OK, (await own.GetAsync(url)).StatusCode);
        using var other = _service.CreateClientAs(TestTokens.Counselor("c-south-1", "south"));
        using var otherAnswer = await other.GetAsync(url);
        Assert.Equal(HttpStatusCode.NotFound, otherAnswer.StatusCode);
        Assert.DoesNotContain("0.3", await otherAnswer.Content.ReadAsStringAsync());
        using var ops = _service.CreateClientAs(TestTokens.Ops());
        Assert.Equal(HttpStatusCode.Forbidden, (await ops.GetAsync(url)).StatusCode);
        using var anonymous = _service.CreateClientAs(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(url)).StatusCode);
    }

    private static double?[] Values(JsonElement skill) =>
        skill.GetProperty("values").EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Null ? (double?)null : v.GetDouble()).ToArray();
}
