using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Beacon.Testing;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// Reading statements back from Beacon's LRS (xAPI 1.0.3, Communication part, 2.1.3 and 2.8): the about resource, one
/// statement by statementId and voidedStatementId, and StatementResult queries by agent, verb, activity and stored
/// time, paged through the more link.
/// </summary>
public sealed class XapiQueryTests(ServiceFactory<Program> service) : IClassFixture<ServiceFactory<Program>>
{
    private const string Statements = "/api/ingestion/v1/xapi/statements";

    private HttpClient Lrs()
    {
        var http = service.CreateClient();
        http.DefaultRequestHeaders.Add("X-Experience-API-Version", "1.0.3");
        return http;
    }

    [Fact]
    public async Task The_about_resource_names_the_version_without_credentials()
    {
        var about = await service.CreateClientAs(null).GetFromJsonAsync<JsonElement>("/api/ingestion/v1/xapi/about");
        Assert.Equal(["1.0.3"], about.GetProperty("version").EnumerateArray().Select(v => v.GetString()));
    }

    [Fact]
    public async Task Statements_are_read_back_one_by_id_and_by_query_a_page_at_a_time_and_voided_ones_only_by_voidedStatementId()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var (ann, bob) = ($"ann.{tag}@example.edu", $"bob.{tag}@example.edu");
        string Statement(string email, string verb, string activity) => $$"""
            { "actor": { "mbox": "mailto:{{email}}" }, "verb": { "id": "http://adlnet.gov/expapi/verbs/{{verb}}" },
              "object": { "id": "https://lms.example.edu/{{tag}}/{{activity}}" }, "result": { "duration": "PT5M" } }
            """;
        var batch = JsonNode.Parse("[" + string.Join(',',
            Enumerable.Range(0, 5).Select(i => Statement(ann, "experienced", $"video/{i}"))
                .Append(Statement(ann, "completed", "course"))
                .Append(Statement(bob, "experienced", "video/0"))) + "]");
        using var posted = await Lrs().PostAsJsonAsync(Statements, batch);
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        var ids = (await posted.Content.ReadFromJsonAsync<string[]>())!;

        // One by id: as stored, with the LRS's stored time; the spec's consistency header on every read.
        using var one = await Lrs().GetAsync($"{Statements}?statementId={ids[5]}");
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        Assert.True(one.Headers.Contains("X-Experience-API-Consistent-Through"));
        var statement = JsonNode.Parse(await one.Content.ReadAsStringAsync())!;
        Assert.Equal((ids[5], $"https://lms.example.edu/{tag}/course"), (statement["id"]!.GetValue<string>(), statement["object"]!["id"]!.GetValue<string>()));
        Assert.NotNull(statement["stored"]);
        Assert.Equal(HttpStatusCode.NotFound, (await Lrs().GetAsync($"{Statements}?statementId={Guid.NewGuid()}")).StatusCode);

        // By agent (mbox) and verb, newest first, two a page: the more link walks all five without repeats.
        var agent = Uri.EscapeDataString($$"""{"mbox":"mailto:{{ann}}"}""");
        var seen = new List<string>();
        var url = $"{Statements}?agent={agent}&verb={Uri.EscapeDataString("http://adlnet.gov/expapi/verbs/experienced")}&limit=2";
        var pages = 0;
        while (url.Length > 0)
        {
            var page = await Lrs().GetFromJsonAsync<JsonElement>(url);
            seen.AddRange(page.GetProperty("statements").EnumerateArray().Select(s => s.GetProperty("id").GetString()!));
            url = page.GetProperty("more").GetString()!;
            pages++;
        }
        Assert.Equal(3, pages);
        Assert.Equal(ids[..5].Order(), seen.Order());
        Assert.Equal(5, seen.Distinct().Count());
        // By activity: Ann's and Bob's statements about video 0; ascending in stored order.
        var video0 = await Lrs().GetFromJsonAsync<JsonElement>($"{Statements}?activity={Uri.EscapeDataString($"https://lms.example.edu/{tag}/video/0")}&ascending=true");
        Assert.Equal(new[] { ids[0], ids[6] }.Order(), video0.GetProperty("statements").EnumerateArray().Select(s => s.GetProperty("id").GetString()!).Order());
        Assert.Equal("", video0.GetProperty("more").GetString());

        // Voided: gone from statementId and from queries, found by voidedStatementId.
        using var voiding = await Lrs().PostAsJsonAsync(Statements, JsonNode.Parse($$"""
            { "actor": { "mbox": "mailto:admin@example.edu" }, "verb": { "id": "http://adlnet.gov/expapi/verbs/voided" },
              "object": { "objectType": "StatementRef", "id": "{{ids[6]}}" } }
            """));
        Assert.Equal(HttpStatusCode.OK, voiding.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Lrs().GetAsync($"{Statements}?statementId={ids[6]}")).StatusCode);
        using var voided = await Lrs().GetAsync($"{Statements}?voidedStatementId={ids[6]}");
        Assert.Equal(HttpStatusCode.OK, voided.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Lrs().GetAsync($"{Statements}?voidedStatementId={ids[5]}")).StatusCode);
        var bobs = await Lrs().GetFromJsonAsync<JsonElement>($"{Statements}?agent={Uri.EscapeDataString($$"""{"mbox":"mailto:{{bob}}"}""")}");
        Assert.Empty(bobs.GetProperty("statements").EnumerateArray());
    }

    [Theory]
    [InlineData("agent=not-json", "agent")]
    [InlineData("agent=%7B%22name%22%3A%22x%22%7D", "agent")]
    [InlineData("since=yesterday", "since")]
    [InlineData("limit=-1", "limit")]
    [InlineData("registration=5d3d1a4c-6b7e-4f3e-9f5e-0c1d2e3f4a5b", "registration")]
    [InlineData("format=ids", "format")]
    [InlineData("cursor=abc", "cursor")]
    [InlineData("statementId=5d3d1a4c-6b7e-4f3e-9f5e-0c1d2e3f4a5b&verb=x", "statementId")]
    public async Task A_query_the_LRS_cannot_answer_gets_400_naming_the_parameter(string query, string field)
    {
        using var response = await Lrs().GetAsync($"{Statements}?{query}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }
}
