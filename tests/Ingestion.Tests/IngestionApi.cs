using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Beacon.Ingestion.Tests;

/// <summary>Small client for Ingestion's REST surface, used by the API tests.</summary>
public sealed class IngestionApi(HttpClient http)
{
    public const string Today = "2026-11-20";

    public static object Roster(string school, params string[] students) => new
    {
        schools = new[] { new { schoolId = school, name = $"School {school}" } },
        staff = new[] { new { staffId = $"{school}-c1", schoolId = school, role = "counselor", givenName = "Ana", familyName = "Lopez", email = "ana@example.edu" } },
        students = students.Select(s => new { studentId = s, schoolId = school, givenName = "Given", familyName = s, gradeLevel = "9" }),
    };

    public Task<HttpResponseMessage> PostAsync(string path, object body) => http.PostAsJsonAsync(path, body);

    public Task<HttpResponseMessage> PostRawAsync(string path, string body) =>
        http.SendAsync(WithXapiVersion(new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") }));

    /// <summary>An LRS refuses a statement request without X-Experience-API-Version before reading it; the bad-input tests want the body read.</summary>
    public static HttpRequestMessage WithXapiVersion(HttpRequestMessage request)
    {
        if (request.RequestUri?.OriginalString.Contains("/xapi/", StringComparison.Ordinal) == true)
        {
            request.Headers.Add("X-Experience-API-Version", "1.0.3");
        }
        return request;
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await http.GetAsync(path);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public static async Task<JsonElement> ProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public static string[] ErrorKeys(JsonElement problem) =>
        problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order().ToArray();
}
