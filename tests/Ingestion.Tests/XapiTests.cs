using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Beacon.Ingestion.Domain;
using Beacon.Ingestion.Storage;
using Beacon.Messaging;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// Beacon as an LRS (xAPI 1.0.3): statements in the spec's example shapes and a Moodle quiz attempt as the
/// logstore_xapi plugin sends it (Fixtures/xapi/moodle-quiz-attempt.json, written by hand for this test following
/// the spec and that plugin's statement shapes: account actors, cmi.interaction definitions, Moodle's context). Actors
/// reach roster students through identifiers a OneRoster bundle brought and an uploaded identifier map; skills come
/// from the item catalog.
/// </summary>
public sealed class XapiTests(ServiceFactory<Program> service) : IClassFixture<ServiceFactory<Program>>
{
    private const string Statements = "/api/ingestion/v1/xapi/statements";
    private const string Adl = "http://adlnet.gov/expapi/verbs/";

    private HttpClient Lrs()
    {
        var http = service.CreateClient();
        http.DefaultRequestHeaders.Add("X-Experience-API-Version", "1.0.3");
        return http;
    }

    /// <summary>A OneRoster 1.1 bundle with three students and the identifiers learning tools know them by.</summary>
    private async Task<string> RosterAsync(string school)
    {
        var form = new MultipartFormDataContent
        {
            { new StringContent($"sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n{school},active,,School {school},school,,\n", Encoding.UTF8, "text/csv"), "files", "orgs.csv" },
            {
                new StringContent(
                    "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n"
                    + $"{school}-s1,active,,true,{school},student,ivy.{school},,Ivy,Marsh,,,Ivy.{school}@Example.edu,,,,07,\n"
                    + $"{school}-s2,active,,true,{school},student,noah.{school},,Noah,Reed,,ID-{school}-2,,,,,07,\n"
                    + $"{school}-s3,active,,true,{school},student,mia.{school},\"{{SIS:x{school}}},{{Moodle:m{school}}}\",Mia,Cole,,,,,,,07,\n",
                    Encoding.UTF8, "text/csv"),
                "files", "users.csv"
            },
        };
        using var response = await service.CreateClient().PostAsync("/api/ingestion/v1/oneroster", form);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return school;
    }

    private async Task CatalogAsync(string csv)
    {
        using var response = await service.CreateClient().PostAsync("/api/ingestion/v1/xapi/item-catalog", new StringContent(csv, Encoding.UTF8, "text/csv"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private Task<T> Db<T>(Func<IngestionDbContext, Task<T>> work) => service.WithDbAsync(work);

    [Fact]
    public async Task Spec_example_statements_are_stored_their_ids_returned_and_actors_found_through_the_roster_identifiers()
    {
        var school = await RosterAsync($"xs{Guid.NewGuid():N}"[..10]);
        var activity = $"http://example.adlnet.gov/xapi/example/{school}/tf";
        await CatalogAsync($"activityId,itemId,skillIds\n{activity},,statements;xapi-basics\n");
        var email = $"ivy.{school}@example.edu";
        var sha1 = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes("mailto:" + email)));
        var (attempted, experienced) = (Guid.NewGuid().ToString(), Guid.NewGuid().ToString());
        var statements = JsonNode.Parse($$"""
            [
              { "actor": { "objectType": "Agent", "name": "Project Tin Can API", "mbox": "mailto:user@example.com" },
                "verb": { "id": "http://adlnet.gov/expapi/verbs/created", "display": { "en-US": "created" } },
                "object": { "id": "http://example.adlnet.gov/xapi/example/simplestatement",
                  "definition": { "name": { "en-US": "simple statement" }, "description": { "en-US": "A simple Experience API statement." } } } },
              { "id": "{{attempted}}", "timestamp": "2015-12-18T12:17:00+00:00",
                "actor": { "objectType": "Agent", "name": "Example Learner", "mbox": "mailto:{{email.ToUpperInvariant()}}" },
                "verb": { "id": "http://adlnet.gov/expapi/verbs/attempted", "display": { "en-US": "attempted" } },
                "object": { "id": "http://example.adlnet.gov/xapi/example/simpleCBT", "definition": { "name": { "en-US": "simple CBT course" } } },
                "result": { "score": { "scaled": 0.95 }, "success": true, "completion": true, "duration": "PT1234S" } },
              { "actor": { "mbox_sha1sum": "{{sha1}}" },
                "verb": { "id": "http://adlnet.gov/expapi/verbs/answered", "display": { "en-US": "answered" } },
                "object": { "id": "{{activity}}", "definition": { "description": { "en-US": "Does the xAPI include the concept of statements?" },
                  "type": "http://adlnet.gov/expapi/activities/cmi.interaction", "interactionType": "true-false", "correctResponsesPattern": [ "true" ] } },
                "result": { "response": "true" } },
              { "id": "{{experienced}}", "timestamp": "2026-10-02T08:00:00Z",
                "actor": { "account": { "homePage": "https://sis.example.edu", "name": "ID-{{school}}-2" } },
                "verb": { "id": "http://adlnet.gov/expapi/verbs/experienced" },
                "object": { "id": "https://lms.example.edu/video/42" }, "result": { "duration": "P0DT1H2M3.5S" } }
            ]
            """);
        using var response = await Lrs().PostAsJsonAsync(Statements, statements);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("1.0.3", response.Headers.GetValues("X-Experience-API-Version").Single());
        var ids = (await response.Content.ReadFromJsonAsync<string[]>())!;
        Assert.Equal(4, ids.Length);
        Assert.Equal((attempted, experienced), (ids[1], ids[3]));
        Assert.All(ids, id => Assert.True(Guid.TryParseExact(id, "D", out _), id));

        var stored = await Db(db => db.XapiStatements.AsNoTracking().Where(s => ids.Contains(s.StatementId)).ToDictionaryAsync(s => s.StatementId));
        Assert.Equal(XapiUses.NotUsed, stored[ids[0]].Use);
        Assert.Contains("verb 'http://adlnet.gov/expapi/verbs/created'", stored[ids[0]].Reason);
        // The sender left out the timestamp: it takes the time the statement was stored.
        var answer = await Db(db => db.ItemResponses.AsNoTracking().SingleAsync(r => r.StudentId == $"{school}-s1"));
        Assert.Equal(("tf", "statements,xapi-basics", true, 1), (answer.ItemId, answer.SkillIds, answer.Correct, answer.AttemptNumber));
        Assert.Equal(stored[ids[2]].Stored, answer.AnsweredAt);
        Assert.Equal(stored[ids[2]].Stored, JsonNode.Parse(stored[ids[2]].Json)!["timestamp"]!.GetValue<DateTimeOffset>());
        var activities = await Db(db => db.LmsActivities.AsNoTracking().Where(a => a.StudentId.StartsWith(school)).OrderBy(a => a.StudentId).ToListAsync());
        Assert.Equal([($"{school}-s1", "attempted", 1234.0), ($"{school}-s2", "experienced", 3723.5)],
            activities.Select(a => (a.StudentId, a.Verb, a.DurationSeconds)));

        var batch = response.Headers.GetValues("X-Beacon-Batch-Id").Single();
        var usage = await service.CreateClient().GetFromJsonAsync<JsonElement[]>($"/api/ingestion/v1/xapi/usage?batchId={batch}");
        Assert.Equal(["activity:2", "answer:1", "not-used:1"], usage!.Select(u => $"{u.GetProperty("use").GetString()}:{u.GetProperty("statements").GetInt32()}").Order());
    }

    [Fact]
    public async Task A_Moodle_quiz_attempt_becomes_answers_with_catalog_skills_and_activity_and_voiding_withdraws_them()
    {
        var school = await RosterAsync($"xm{Guid.NewGuid():N}"[..10]);
        var home = $"https://moodle-{school}.example.edu";
        // The plugin names users by their Moodle id: one student through the roster's userIds, one through an uploaded map.
        using (var map = await service.CreateClient().PostAsJsonAsync("/api/ingestion/v1/xapi/identifiers", new
        {
            identifiers = new[] { new { studentId = $"{school}-s2", kind = "account", homePage = home + "/", value = "4242" } },
        }))
        {
            Assert.Equal(HttpStatusCode.OK, map.StatusCode);
        }
        await CatalogAsync($"activityId,itemId,skillIds\n{home}/question/question.php?id=12,frac-q12,fractions;halves\n{home}/mod/quiz/view.php?id=5,,fractions\n");

        var fixture = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Fixtures", "xapi", "moodle-quiz-attempt.json"));
        var byStudent = new Dictionary<string, string[]>();
        foreach (var (student, account) in new[] { ($"{school}-s3", $"m{school}"), ($"{school}-s2", "4242") })
        {
            var statements = JsonNode.Parse(fixture.Replace("{{home}}", home).Replace("{{account}}", account))!.AsArray();
            foreach (var statement in statements)
            {
                statement!["id"] = Guid.NewGuid().ToString();
            }
            using var response = await Lrs().PostAsJsonAsync(Statements, statements);
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            Assert.Equal("1", response.Headers.GetValues("X-Beacon-Not-Used").Single());   // the viewed statement
            byStudent[student] = (await response.Content.ReadFromJsonAsync<string[]>())!;
        }

        var answers = (await Db(db => db.ItemResponses.AsNoTracking().Where(r => r.StudentId == $"{school}-s3").ToListAsync())).OrderBy(r => r.AnsweredAt).ToList();
        Assert.Equal([("frac-q12", "fractions,halves", true), ("question.php?id=13", "fractions", false), ("question.php?id=14", "fractions", true)],
            answers.Select(a => (a.ItemId, a.SkillIds, a.Correct)));
        var completed = await Db(db => db.LmsActivities.AsNoTracking().SingleAsync(a => a.StudentId == $"{school}-s3"));
        Assert.Equal(("completed", $"{home}/mod/quiz/view.php?id=5", 960.0), (completed.Verb, completed.ObjectId, completed.DurationSeconds));
        Assert.Equal(3, await Db(db => db.ItemResponses.CountAsync(r => r.StudentId == $"{school}-s2")));
        var viewed = await Db(db => db.XapiStatements.AsNoTracking().SingleAsync(s => s.StatementId == byStudent[$"{school}-s3"][0]));
        Assert.Contains("http://id.tincanapi.com/verb/viewed", viewed.Reason);

        // The teacher regrades: the plugin voids the first answer and the completion (PUT with statementId, 204).
        foreach (var target in new[] { byStudent[$"{school}-s3"][1], byStudent[$"{school}-s3"][4] })
        {
            var voiding = Guid.NewGuid().ToString();
            using var response = await Lrs().PutAsJsonAsync($"{Statements}?statementId={voiding}", Voiding(target, $"{home}", $"m{school}"));
            Assert.True(response.StatusCode == HttpStatusCode.NoContent, await response.Content.ReadAsStringAsync());
        }
        Assert.Equal(["question.php?id=13", "question.php?id=14"],
            await Db(db => db.ItemResponses.Where(r => r.StudentId == $"{school}-s3").Select(r => r.ItemId).OrderBy(i => i).ToListAsync()));
        Assert.False(await Db(db => db.LmsActivities.AnyAsync(a => a.StudentId == $"{school}-s3")));
        Assert.Equal(2, await Db(db => db.XapiStatements.CountAsync(s => s.Voided && s.StudentId == $"{school}-s3")));
        var voidedEvents = await Db(db => db.Set<OutboxMessage>().Where(m => m.MessageType.Contains("LearningRecordVoided") && m.Body.Contains($"{school}-s3")).CountAsync());
        Assert.Equal(2, voidedEvents);
        // The other student's answers stand.
        Assert.Equal(3, await Db(db => db.ItemResponses.CountAsync(r => r.StudentId == $"{school}-s2")));
    }

    private static JsonObject Voiding(string target, string home, string account) => new()
    {
        ["actor"] = new JsonObject { ["account"] = new JsonObject { ["homePage"] = home, ["name"] = account } },
        ["verb"] = new JsonObject { ["id"] = Adl + "voided", ["display"] = new JsonObject { ["en-US"] = "voided" } },
        ["object"] = new JsonObject { ["objectType"] = "StatementRef", ["id"] = target },
    };

    [Fact]
    public async Task An_invalid_statement_refuses_the_batch_and_every_problem_is_named_by_its_xapi_path()
    {
        var good = Guid.NewGuid().ToString();
        var statements = JsonNode.Parse($$"""
            [
              { "id": "{{good}}", "actor": { "mbox": "mailto:a@example.edu" }, "verb": { "id": "{{Adl}}experienced" }, "object": { "id": "https://x.example/a" } },
              { "id": "{{good}}", "actor": { "mbox": "mailto:a@example.edu" }, "verb": { "id": "{{Adl}}experienced" }, "object": { "id": "https://x.example/b" } },
              { "id": "123", "actor": { "mbox": "a@example.edu", "account": { "homePage": "lms", "name": "" } }, "verb": { "id": "answered" },
                "object": { "id": "https://x.example/q", "definition": { "interactionType": "multiple" } },
                "result": { "success": "yes", "score": { "scaled": 2 }, "duration": "forty seconds" }, "timestamp": "yesterday", "mood": "happy" },
              { "actor": { "objectType": "Group" }, "verb": { "id": "{{Adl}}voided" }, "object": { "id": "https://x.example/c" } }
            ]
            """);
        using var response = await Lrs().PostAsJsonAsync(Statements, statements);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await IngestionApi.ProblemAsync(response);
        Assert.Equal([
            "statements[1].id",
            "statements[2].actor", "statements[2].actor.account.homePage", "statements[2].actor.account.name", "statements[2].actor.mbox",
            "statements[2].id", "statements[2].mood", "statements[2].object.definition.interactionType",
            "statements[2].result.duration", "statements[2].result.score.scaled", "statements[2].result.success", "statements[2].timestamp", "statements[2].verb.id",
            "statements[3].actor.member", "statements[3].object.objectType",
        ], IngestionApi.ErrorKeys(problem));
        Assert.Equal("1.0.3", response.Headers.GetValues("X-Experience-API-Version").Single());
        // A batch is stored whole or not at all: the valid statement was not kept either.
        Assert.False(await Db(db => db.XapiStatements.AnyAsync(s => s.StatementId == good)));

        foreach (var version in new string?[] { null, "0.95", "1.1.0", "2.0.0" })
        {
            var http = service.CreateClient();
            if (version is not null)
            {
                http.DefaultRequestHeaders.Add("X-Experience-API-Version", version);
            }
            using var refused = await http.PostAsJsonAsync(Statements, statements![0]);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal(["X-Experience-API-Version"], IngestionApi.ErrorKeys(await IngestionApi.ProblemAsync(refused)));
        }
    }

    [Fact]
    public async Task The_same_statement_again_changes_nothing_a_different_one_under_its_id_is_a_conflict_and_an_early_voiding_waits()
    {
        var school = await RosterAsync($"xc{Guid.NewGuid():N}"[..10]);
        var id = Guid.NewGuid().ToString();
        JsonObject Completed(string verb = "completed") => new()
        {
            ["id"] = id,
            ["actor"] = new JsonObject { ["account"] = new JsonObject { ["homePage"] = "https://lms.example.edu", ["name"] = $"{school}-s1" } },
            ["verb"] = new JsonObject { ["id"] = Adl + verb },
            ["object"] = new JsonObject { ["id"] = "https://lms.example.edu/unit/1" },
            ["timestamp"] = "2026-10-01T09:00:00Z",
        };
        for (var i = 0; i < 2; i++)
        {
            var statement = Completed();
            statement["timestamp"] = $"2026-10-01T09:00:0{i}Z";   // timestamp, stored, authority and version do not make a statement different
            using var response = await Lrs().PostAsJsonAsync(Statements, statement);
            Assert.Equal([id], (await response.Content.ReadFromJsonAsync<string[]>())!);
        }
        Assert.Equal(1, await Db(db => db.LmsActivities.CountAsync(a => a.StudentId == $"{school}-s1")));

        using (var conflict = await Lrs().PutAsJsonAsync($"{Statements}?statementId={id}", Completed("attempted")))
        {
            Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        }
        using (var mismatch = await Lrs().PutAsJsonAsync($"{Statements}?statementId={Guid.NewGuid()}", Completed()))
        {
            Assert.Equal(["statement.id"], IngestionApi.ErrorKeys(await IngestionApi.ProblemAsync(mismatch)));
        }
        Assert.Equal("completed", await Db(db => db.LmsActivities.Where(a => a.StatementId == id).Select(a => a.Verb).SingleAsync()));

        // A voiding statement may arrive before the statement it voids: the statement is then stored voided and not used.
        var late = Guid.NewGuid().ToString();
        using (var voiding = await Lrs().PostAsJsonAsync(Statements, Voiding(late, "https://lms.example.edu", $"{school}-s1")))
        {
            Assert.Equal(HttpStatusCode.OK, voiding.StatusCode);
        }
        var statementLate = Completed();
        statementLate.Remove("id");
        using (var put = await Lrs().PutAsJsonAsync($"{Statements}?statementId={late}", statementLate))
        {
            Assert.Equal(HttpStatusCode.NoContent, put.StatusCode);
        }
        var stored = await Db(db => db.XapiStatements.AsNoTracking().SingleAsync(s => s.StatementId == late));
        Assert.True(stored.Voided);
        Assert.False(await Db(db => db.LmsActivities.AnyAsync(a => a.StatementId == late)));
    }
}
