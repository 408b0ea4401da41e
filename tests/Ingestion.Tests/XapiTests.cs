using System.Net;
using System.Net.Http.Json;
using Beacon.Ingestion.Storage;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Tests;

/// <summary>xAPI statements: answers become item responses, completed/experienced become LMS activity, other verbs are refused.</summary>
public sealed class XapiTests(ServiceFactory<Program> service) : IClassFixture<ServiceFactory<Program>>
{
    private const string Adl = "http://adlnet.gov/expapi/verbs/";
    private const string Skills = "https://beacon.example.org/xapi/extensions/skills";

    private static object Statement(string id, string student, string verb, bool? success = null, string[]? skills = null, string duration = "PT42S") => new Dictionary<string, object?>
    {
        ["id"] = id,
        ["actor"] = new { objectType = "Agent", account = new { homePage = "https://lms.example.org", name = student } },
        ["verb"] = new { id = Adl + verb },
        ["object"] = new { id = "https://lms.example.org/items/frac-07", definition = new { extensions = new Dictionary<string, object?> { [Skills] = skills } } },
        ["result"] = new { success, duration },
        ["timestamp"] = "2026-10-01T09:30:00Z",
    };

    [Fact]
    public async Task Statements_map_to_signals_and_unknown_verbs_are_rejected_with_a_reason()
    {
        var school = $"xa-{Guid.NewGuid():N}"[..10];
        var student = $"{school}-s1";
        var http = service.CreateClient();
        using (var roster = await new IngestionApi(http).PostAsync("/api/ingestion/v1/roster", IngestionApi.Roster(school, student)))
        {
            Assert.Equal(HttpStatusCode.OK, roster.StatusCode);
        }
        var statements = new[]
        {
            Statement($"{school}-1", student, "answered", success: true, skills: ["fractions"]),
            Statement($"{school}-2", student, "completed"),
            Statement($"{school}-3", student, "liked"),
            Statement($"{school}-4", student, "answered", success: null, skills: ["fractions"]),
            Statement($"{school}-5", "someone-else", "experienced"),
            Statement($"{school}-6", student, "experienced", duration: "forty seconds"),
        };
        using var response = await http.PostAsJsonAsync("/api/ingestion/v1/xapi/statements", statements);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await IngestionApi.ProblemAsync(response);
        Assert.Equal(["statements[2].verb.id", "statements[3].result.success", "statements[4].studentId", "statements[5].result.duration"], IngestionApi.ErrorKeys(problem));
        Assert.Equal(6, problem.GetProperty("received").GetInt32());
        Assert.Equal(2, problem.GetProperty("accepted").GetInt32());

        var answer = await service.WithDbAsync<IngestionDbContext, Domain.ItemResponse>(db => db.ItemResponses.SingleAsync(r => r.StudentId == student));
        Assert.Equal(("frac-07", "fractions", true, 42.0), (answer.ItemId, answer.SkillIds, answer.Correct, answer.TimeOnTaskSeconds));
        var activity = await service.WithDbAsync<IngestionDbContext, Domain.LmsActivity>(db => db.LmsActivities.SingleAsync(a => a.StudentId == student));
        Assert.Equal("completed", activity.Verb);
        Assert.Equal(4, await service.WithDbAsync<IngestionDbContext, int>(db => db.Quarantine.CountAsync(q => q.Raw.Contains(school) && q.Status == "open")));
    }
}
