using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Beacon.Ingestion.Domain;
using Beacon.Ingestion.Storage;
using Beacon.Messaging;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// Batches racing each other with the same new natural keys (a feed re-sending while its first send is still in
/// flight, several workers of one feed): each sees the keys as new, the first commit wins and the others' inserts hit
/// the key. That used to be a 500 (bench/RESULTS.md, the mixed-signal smoke runs); now the loser's chunk is processed
/// again and counts the keys as unchanged, exactly as a sequential re-send does. Per kind, on SQLite and PostgreSQL:
/// every answer 2xx, every key stored once, one published record per stored row.
/// </summary>
public sealed class ConcurrentDuplicateTests
{
    private const int Senders = 8;
    private const int Keys = 120;
    private const int Rounds = 3;

    public static TheoryData<string, string> Cases()
    {
        var cases = new TheoryData<string, string>();
        foreach (var provider in new[] { "sqlite", "postgres" })
        {
            foreach (var kind in new[] { "item-responses", "grades", "behavior-incidents", "attendance", "xapi" })
            {
                cases.Add(provider, kind);
            }
        }
        return cases;
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public async Task Parallel_batches_with_the_same_new_keys_all_succeed_and_store_and_publish_each_key_once(string provider, string kind)
    {
        await using var service = NewService(provider);
        var school = $"cd{Guid.NewGuid():N}"[..10];
        var students = Enumerable.Range(1, 12).Select(i => $"{school}-s{i}").ToArray();
        var api = new IngestionApi(service.CreateClient());
        using (var roster = await api.PostAsync("/api/ingestion/v1/roster", IngestionApi.Roster(school, students)))
        {
            roster.EnsureSuccessStatusCode();
        }

        var sent = new HashSet<string>();
        int accepted = 0, unchanged = 0;
        for (var round = 0; round < Rounds; round++)
        {
            var (path, body, keys) = Batch(kind, students, round);
            sent.UnionWith(keys);
            var clients = Enumerable.Range(0, Senders).Select(_ => Client(service, kind)).ToList();
            var responses = await Task.WhenAll(clients.Select(c => c.PostAsync(path, JsonContent.Create(body))));
            foreach (var response in responses)
            {
                var text = await response.Content.ReadAsStringAsync();
                Assert.True(response.IsSuccessStatusCode, $"{kind} round {round}: {(int)response.StatusCode} {text}");
                if (kind != "xapi")
                {
                    var summary = JsonDocument.Parse(text).RootElement;
                    accepted += summary.GetProperty("accepted").GetInt32();
                    unchanged += summary.GetProperty("unchanged").GetInt32();
                    Assert.Equal(0, summary.GetProperty("corrected").GetInt32());
                }
                response.Dispose();
            }
            clients.ForEach(c => c.Dispose());
        }

        if (kind != "xapi")
        {
            // A concurrent re-send counts as a sequential one does: the first stores, the others find it unchanged.
            Assert.Equal(sent.Count, accepted);
            Assert.Equal((Senders - 1) * sent.Count, unchanged);
        }
        Assert.Equal(sent.Count, await StoredAsync(service, kind, school));
        var published = await PublishedKeysAsync(service, kind, school);
        Assert.Equal(sent.Order(), published.Order());
    }

    [Fact]
    public async Task A_bad_row_in_racing_batches_is_reported_and_quarantined_once_per_batch_when_its_chunk_is_processed_again()
    {
        await using var service = NewService("sqlite");
        var school = $"cq{Guid.NewGuid():N}"[..10];
        var students = Enumerable.Range(1, 12).Select(i => $"{school}-s{i}").ToArray();
        var api = new IngestionApi(service.CreateClient());
        using (var roster = await api.PostAsync("/api/ingestion/v1/roster", IngestionApi.Roster(school, students)))
        {
            roster.EnsureSuccessStatusCode();
        }
        const string path = "/api/ingestion/v1/item-responses";
        var bad = $"responses[{Keys - 1}].studentId";
        var rows = Enumerable.Range(0, Keys).Select(i => new JsonObject
        {
            ["studentId"] = i == Keys - 1 ? $"{school}-nobody" : students[i % students.Length],
            ["itemId"] = $"q{i}",
            ["skillIds"] = new JsonArray("fractions"),
            ["correct"] = true,
            ["attemptNumber"] = 1,
            ["answeredAt"] = "2026-10-01T09:00:00Z",
        }).ToList();
        var body = new JsonObject { ["responses"] = new JsonArray([.. rows]) }.ToJsonString();

        var http = Enumerable.Range(0, Senders).Select(_ => service.CreateClient()).ToList();
        var responses = await Task.WhenAll(http.Select(c => c.PostAsync(path, new StringContent(body, System.Text.Encoding.UTF8, "application/json"))));
        var accepted = 0;
        foreach (var response in responses)
        {
            var problem = await IngestionApi.ProblemAsync(response);
            Assert.Equal([bad], IngestionApi.ErrorKeys(problem));
            Assert.Single(problem.GetProperty("errors").GetProperty(bad).EnumerateArray());
            Assert.Equal((Keys, Keys - 1, 1), (problem.GetProperty("received").GetInt32(),
                problem.GetProperty("accepted").GetInt32() + problem.GetProperty("unchanged").GetInt32(), problem.GetProperty("rejected").GetInt32()));
            accepted += problem.GetProperty("accepted").GetInt32();
        }
        Assert.Equal(Keys - 1, accepted);
        var quarantined = await service.WithDbAsync<IngestionDbContext, List<QuarantinedRow>>(db => db.Quarantine.Where(q => q.Raw.Contains($"{school}-nobody")).ToListAsync());
        Assert.Equal(Senders, quarantined.Count);
        Assert.Equal(Senders, quarantined.Select(q => q.BatchId).Distinct().Count());
        Assert.All(quarantined, q => Assert.Single(q.Errors.Split('\n')));
        Assert.Equal(Keys - 1, await StoredAsync(service, "item-responses", school));
    }

    private static ServiceFactory<Program> NewService(string provider) => new() { ConnectionString = TestPostgres.ConnectionStringFor(provider) };

    private static HttpClient Client(ServiceFactory<Program> service, string kind)
    {
        var http = service.CreateClient();
        if (kind == "xapi")
        {
            http.DefaultRequestHeaders.Add("X-Experience-API-Version", "1.0.3");
        }
        return http;
    }

    /// <summary>One round's batch (the same body for every sender) and the natural keys it holds, each new.</summary>
    private static (string Path, object Body, List<string> Keys) Batch(string kind, string[] students, int round)
    {
        var rows = Enumerable.Range(0, Keys).Select(i => (Student: students[i % students.Length], N: (round * Keys) + i)).ToList();
        var day = new DateOnly(2026, 9, 1);
        var answeredAt = DateTimeOffset.UtcNow.AddDays(-1);
        switch (kind)
        {
            case "item-responses":
                return ("/api/ingestion/v1/item-responses", new
                {
                    responses = rows.Select(r => new
                    {
                        studentId = r.Student,
                        itemId = $"q{r.N}",
                        skillIds = new[] { "fractions" },
                        correct = r.N % 2 == 0,
                        attemptNumber = 1,
                        hintsUsed = 0,
                        timeOnTaskSeconds = 12.0,
                        answeredAt,
                    }),
                }, rows.Select(r => $"{r.Student}|q{r.N}|1").ToList());
            case "grades":
                return ("/api/ingestion/v1/grades", new
                {
                    grades = rows.Select(r => new { studentId = r.Student, courseId = $"c{r.N}", term = "t1", markPercent = 70.0 + (r.N % 20), date = "2026-10-01" }),
                }, rows.Select(r => $"{r.Student}|c{r.N}|t1").ToList());
            case "behavior-incidents":
                return ("/api/ingestion/v1/behavior-incidents", new
                {
                    incidents = rows.Select(r => new { incidentId = $"{r.Student}-i{r.N}", studentId = r.Student, date = "2026-10-02", category = "disruption", severity = "minor" }),
                }, rows.Select(r => $"{r.Student}-i{r.N}").ToList());
            case "attendance":
                return ("/api/ingestion/v1/attendance", new
                {
                    records = rows.Select(r => new { studentId = r.Student, date = day.AddDays(r.N / students.Length).ToString("yyyy-MM-dd"), status = "absent" }),
                }, rows.Select(r => $"{r.Student}|{day.AddDays(r.N / students.Length):yyyy-MM-dd}").ToList());
            default:
                var statements = rows.Select(r => new JsonObject
                {
                    ["id"] = Guid.NewGuid().ToString(),   // built once: every sender sends the same statements
                    ["actor"] = new JsonObject { ["account"] = new JsonObject { ["homePage"] = "https://lms.example.edu", ["name"] = r.Student } },
                    ["verb"] = new JsonObject { ["id"] = "http://adlnet.gov/expapi/verbs/completed" },
                    ["object"] = new JsonObject { ["id"] = $"https://lms.example.edu/unit/{r.N}" },
                    ["timestamp"] = "2026-10-01T09:00:00Z",
                }).ToList();
                return ("/api/ingestion/v1/xapi/statements", statements, statements.Select(s => s["id"]!.GetValue<string>()).ToList());
        }
    }

    private static Task<int> StoredAsync(ServiceFactory<Program> service, string kind, string school) =>
        service.WithDbAsync<IngestionDbContext, int>(db => kind switch
        {
            "item-responses" => db.ItemResponses.CountAsync(r => r.StudentId.StartsWith(school)),
            "grades" => db.Grades.CountAsync(g => g.StudentId.StartsWith(school)),
            "behavior-incidents" => db.BehaviorIncidents.CountAsync(b => b.StudentId.StartsWith(school)),
            "attendance" => db.Attendance.CountAsync(a => a.StudentId.StartsWith(school)),
            _ => db.LmsActivities.CountAsync(a => a.StudentId.StartsWith(school)),
        });

    /// <summary>The natural key of every record the outbox holds for this school (the published log), one entry per record.</summary>
    private static async Task<List<string>> PublishedKeysAsync(ServiceFactory<Program> service, string kind, string school)
    {
        var type = kind switch
        {
            "item-responses" => "ItemResponseBatchRecorded",
            "grades" => "GradeRecorded",
            "behavior-incidents" => "BehaviorIncidentRecorded",
            "attendance" => "AttendanceBatchRecorded",
            _ => "LmsActivityRecorded",
        };
        var bodies = await service.WithDbAsync<IngestionDbContext, List<string>>(db => db.Set<OutboxMessage>()
            .Where(m => m.MessageType.Contains(type + ",") && m.Body.Contains(school)).Select(m => m.Body).ToListAsync());
        var records = bodies.Select(b => JsonDocument.Parse(b).RootElement)
            .SelectMany(e => e.TryGetProperty("Records", out var list) ? list.EnumerateArray().ToList() : [e]);
        string S(JsonElement e, string name) => e.GetProperty(name).ToString();
        return [.. records.Select(r => kind switch
        {
            "item-responses" => $"{S(r, "StudentId")}|{S(r, "ItemId")}|{S(r, "AttemptNumber")}",
            "grades" => $"{S(r, "StudentId")}|{S(r, "CourseId")}|{S(r, "Term")}",
            "behavior-incidents" => S(r, "IncidentId"),
            "attendance" => $"{S(r, "StudentId")}|{S(r, "Date")}",
            _ => S(r, "StatementId"),
        })];
    }
}
