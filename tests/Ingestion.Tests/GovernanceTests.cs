using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.Governance;
using Beacon.Ingestion.Domain;
using Beacon.Ingestion.Storage;
using Beacon.Messaging;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// Erasure and retention against the real broker: an administrator erases student A; every Ingestion table loses A
/// and keeps B; the report waits for the other services' confirmations (published here on the bus as they would
/// be); a late row for A is refused with its line and reason; the retention purge deletes only what is too old.
/// SQLite here; <see cref="PostgresGovernanceTests"/> runs the same on PostgreSQL.
/// </summary>
public class GovernanceTests : GovernanceTestBase<Program, IngestionDbContext>
{
    protected override string ServiceName => "ingestion";

    protected override Dictionary<string, string?> Settings => new()
    {
        ["Retention:AttendanceRecords"] = "P1Y",
        ["Retention:ItemResponses"] = "P90D",
    };

    private IngestionApi Api => new(Http);

    // Ingestion's outbox count includes the erasure events: the test checks they are all that is left.
    protected override async Task<Dictionary<string, int>> RowsOfAsync(IngestionDbContext db, string student) => new()
    {
        ["Students"] = await db.Students.CountAsync(s => s.StudentId == student),
        ["Attendance"] = await db.Attendance.CountAsync(a => a.StudentId == student),
        ["ItemResponses"] = await db.ItemResponses.CountAsync(r => r.StudentId == student),
        ["Grades"] = await db.Grades.CountAsync(g => g.StudentId == student),
        ["BehaviorIncidents"] = await db.BehaviorIncidents.CountAsync(b => b.StudentId == student),
        ["LmsActivities"] = await db.LmsActivities.CountAsync(a => a.StudentId == student),
        ["XapiStatements"] = await db.XapiStatements.CountAsync(x => x.StudentId == student),
        ["StudentIdentifiers"] = await db.StudentIdentifiers.CountAsync(i => i.StudentId == student),
        ["Quarantine"] = await db.Quarantine.CountAsync(q => q.Raw.Contains($"\"{student}\"")),
        ["outbox"] = await db.Set<OutboxMessage>().CountAsync(m => m.Body.Contains($"\"StudentId\":\"{student}\"")),
        // Events about a group name the student in a list (a section's roster): the id goes, the group stays.
        ["SectionRosterEvents"] = await db.Set<OutboxMessage>().CountAsync(m => m.Body.Contains("\"StudentIds\":[") && m.Body.Contains($"\"{student}\"")),
    };

    private async Task SeedAsync(string school, string student)
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var day = (int i) => today.AddDays(-i).ToString("yyyy-MM-dd");
        async Task Post(string path, object body, HttpStatusCode expected = HttpStatusCode.OK)
        {
            using var response = await Api.PostAsync(path, body);
            Assert.True(expected == response.StatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        await Post("/api/ingestion/v1/attendance", new { records = new[] { new { studentId = student, date = day(1), status = "absent" }, new { studentId = student, date = day(2), status = "present" } } });
        await Post("/api/ingestion/v1/grades", new { grades = new[] { new { studentId = student, courseId = "math", term = "T1", markPercent = 71.5, date = day(1) } } });
        await Post("/api/ingestion/v1/behavior-incidents", new { incidents = new[] { new { incidentId = $"inc-{student}", studentId = student, date = day(1), category = "defiance", severity = "minor" } } });
        await Post("/api/ingestion/v1/item-responses", new
        {
            responses = new[] { new { studentId = student, itemId = "i1", skillIds = new[] { "fractions" }, correct = true, attemptNumber = 1, hintsUsed = 0, timeOnTaskSeconds = 20.0, answeredAt = DateTimeOffset.UtcNow.AddHours(-1) } },
        });
        // A bad row (unknown status) goes to the quarantine with the student's id in it.
        await Post("/api/ingestion/v1/attendance", new { records = new[] { new { studentId = student, date = day(3), status = "sleeping" } } }, HttpStatusCode.BadRequest);
        // LMS activity arrives as an xAPI statement whose actor the identifier map names: the statement, the map entry and the activity are the student's.
        await Post("/api/ingestion/v1/xapi/identifiers", new { identifiers = new[] { new { studentId = student, kind = "email", value = $"{student}@example.edu" } } });
        using var statement = await Http.SendAsync(IngestionApi.WithXapiVersion(new HttpRequestMessage(HttpMethod.Post, "/api/ingestion/v1/xapi/statements")
        {
            Content = JsonContent.Create(new
            {
                actor = new { mbox = $"mailto:{student}@example.edu" },
                verb = new { id = "http://adlnet.gov/expapi/verbs/completed" },
                @object = new { id = "https://lms.example.edu/module-1" },
                timestamp = DateTimeOffset.UtcNow.AddHours(-1),
            }),
        }));
        Assert.Equal(HttpStatusCode.OK, statement.StatusCode);
    }

    private async Task<JsonElement> ReportAsync(Guid requestId) => await Api.GetJsonAsync($"/api/ingestion/v1/erasures/{requestId}");

    private static string StatusOf(JsonElement report, string service) =>
        report.GetProperty("services").EnumerateArray().Single(s => s.GetProperty("service").GetString() == service).GetProperty("status").GetString()!;

    [SkippableFact]
    public async Task Erasing_a_student_removes_them_from_every_table_keeps_the_other_and_the_report_completes_as_services_confirm()
    {
        SkipUnlessRunning();
        var school = $"gov-{Guid.NewGuid():N}"[..12];
        var (a, b) = ($"{school}-a", $"{school}-b");
        using (var roster = await Api.PostAsync("/api/ingestion/v1/roster", IngestionApi.Roster(school, a, b)))
        {
            Assert.Equal(HttpStatusCode.OK, roster.StatusCode);
        }
        await SeedAsync(school, a);
        await SeedAsync(school, b);
        // What a OneRoster import publishes for a class both are enrolled in.
        await Db(async db =>
        {
            db.Publish(new SectionRosterRecorded($"{school}-math", school, "Math", ["t-1"], [a, b], Ended: false, DateTimeOffset.UtcNow));
            return await db.SaveChangesAsync();
        });
        var before = await RowsOfAsync(b);
        Assert.All(before, kv => Assert.True(kv.Value > 0, $"seed: no {kv.Key} rows for B"));
        Assert.All(await RowsOfAsync(a), kv => Assert.True(kv.Value > 0, $"seed: no {kv.Key} rows for A"));

        using var response = await Http.PostAsJsonAsync($"/api/ingestion/v1/students/{a}/erasure", new { reason = "parent request 2026-11" });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        var requestId = accepted.GetProperty("requestId").GetGuid();
        Assert.Equal($"/api/ingestion/v1/erasures/{requestId}", response.Headers.Location?.OriginalString);
        var rows = accepted.GetProperty("rowsAffected");
        Assert.Equal(1, rows.GetProperty("Students").GetInt32());
        Assert.Equal(2, rows.GetProperty("Attendance").GetInt32());
        Assert.Equal(1, rows.GetProperty("Grades").GetInt32());
        Assert.Equal(1, rows.GetProperty("BehaviorIncidents").GetInt32());
        Assert.Equal(1, rows.GetProperty("ItemResponses").GetInt32());
        Assert.Equal(1, rows.GetProperty("LmsActivities").GetInt32());
        Assert.Equal(1, rows.GetProperty("XapiStatements").GetInt32());
        Assert.Equal(1, rows.GetProperty("StudentIdentifiers").GetInt32());
        Assert.Equal(1, rows.GetProperty("Quarantine").GetInt32());
        Assert.True(rows.GetProperty("outbox").GetInt32() >= 5, "the events about A (enrolled, the attendance batch, grade, incident, answer) leave the outbox");

        // A is gone from every table except the two erasure events; B is untouched.
        var after = await RowsOfAsync(a);
        Assert.All(after.Where(kv => kv.Key != "outbox"), kv => Assert.True(kv.Value == 0, $"{kv.Key} still holds {kv.Value} row(s) of A"));
        var outboxOfA = await Db(db => db.Set<OutboxMessage>().Where(m => m.Body.Contains($"\"StudentId\":\"{a}\"")).Select(m => m.MessageType).ToListAsync());
        Assert.All(outboxOfA, type => Assert.Contains("StudentErasure", type));
        Assert.Equal(before, await RowsOfAsync(b));
        var section = await Db(db => db.Set<OutboxMessage>().SingleAsync(m => m.Body.Contains($"\"{school}-math\"")));
        Assert.Equal([b], JsonDocument.Parse(section.Body).RootElement.GetProperty("StudentIds").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("test-admin", (await ReportAsync(requestId)).GetProperty("requestedBy").GetString());

        // Pending until every service confirms: Ingestion confirms itself through the bus, the others are published here.
        var report = await Eventually.WaitAsync(() => ReportAsync(requestId), r => StatusOf(r, "ingestion") == "confirmed", TimeSpan.FromSeconds(30));
        Assert.Equal("confirmed", StatusOf(report, "ingestion"));
        Assert.False(report.GetProperty("complete").GetBoolean());
        Assert.Equal("pending", StatusOf(report, "mastery"));
        foreach (var service in new[] { "mastery", "early-warning", "interventions" })
        {
            await Bus.Publish(new StudentErasureConfirmed(requestId, a, service, new Dictionary<string, int> { ["Rows"] = 3 }, DateTimeOffset.UtcNow));
        }
        report = await Eventually.WaitAsync(() => ReportAsync(requestId), r => StatusOf(r, "interventions") == "confirmed", TimeSpan.FromSeconds(30));
        Assert.False(report.GetProperty("complete").GetBoolean());
        Assert.Equal("pending", StatusOf(report, "notifications"));
        await Bus.Publish(new StudentErasureConfirmed(requestId, a, "notifications", new Dictionary<string, int> { ["Feed"] = 2 }, DateTimeOffset.UtcNow));
        report = await Eventually.WaitAsync(() => ReportAsync(requestId), r => r.GetProperty("complete").GetBoolean(), TimeSpan.FromSeconds(30));
        Assert.True(report.GetProperty("complete").GetBoolean());
        var notifications = report.GetProperty("services").EnumerateArray().Single(s => s.GetProperty("service").GetString() == "notifications");
        Assert.Equal(2, notifications.GetProperty("rowsAffected").GetProperty("Feed").GetInt32());
        var list = await Api.GetJsonAsync("/api/ingestion/v1/erasures");
        Assert.Contains(list.EnumerateArray(), r => r.GetProperty("requestId").GetGuid() == requestId && r.GetProperty("complete").GetBoolean());

        // A late CSV row for A is refused with its line and the reason, and its content is not kept; B's row is stored.
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var csv = $"studentId,date,status\n{b},{today.AddDays(-5):yyyy-MM-dd},present\n{a},{today.AddDays(-5):yyyy-MM-dd},absent\n";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/ingestion/v1/attendance") { Content = new StringContent(csv, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        using var late = await Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, late.StatusCode);
        var problem = await IngestionApi.ProblemAsync(late);
        Assert.Equal(["lines[3].studentId"], IngestionApi.ErrorKeys(problem));
        Assert.Contains("erased", problem.GetProperty("errors").GetProperty("lines[3].studentId")[0].GetString());
        Assert.Equal(1, problem.GetProperty("accepted").GetInt32());
        Assert.Equal(0, (await RowsOfAsync(a))["Attendance"]);
        Assert.Equal(0, (await RowsOfAsync(a))["Quarantine"]);

        // The roster cannot bring A back either.
        using var again = await Api.PostAsync("/api/ingestion/v1/roster", IngestionApi.Roster(school, a));
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        Assert.Equal(0, (await RowsOfAsync(a))["Students"]);
    }

    [SkippableFact]
    public async Task Erasure_answers_clear_errors_and_unknown_requests_are_404()
    {
        SkipUnlessRunning();
        using var tooLong = await Http.PostAsJsonAsync("/api/ingestion/v1/students/x/erasure", new { reason = new string('r', 1001) });
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Equal(["reason"], IngestionApi.ErrorKeys(await IngestionApi.ProblemAsync(tooLong)));
        using var broken = await Api.PostRawAsync("/api/ingestion/v1/students/x/erasure", "{\"reason\": ");
        Assert.Equal(HttpStatusCode.BadRequest, broken.StatusCode);
        using var unknown = await Http.GetAsync($"/api/ingestion/v1/erasures/{Guid.NewGuid()}");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        // No body at all is fine: the reason is optional.
        using var empty = await Http.PostAsync("/api/ingestion/v1/students/never-enrolled/erasure", null);
        Assert.Equal(HttpStatusCode.Accepted, empty.StatusCode);
    }

    [SkippableFact]
    public async Task Retention_purges_rows_older_than_the_period_keeps_younger_ones_and_unset_kinds_keep_everything()
    {
        SkipUnlessRunning();
        var student = $"ret-{Guid.NewGuid():N}"[..12];
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var now = DateTimeOffset.UtcNow;
        await Db(async db =>
        {
            db.Attendance.AddRange(
                new AttendanceRecord { StudentId = student, Date = today.AddYears(-2), Status = "absent", SchoolId = "s" },
                new AttendanceRecord { StudentId = student, Date = today.AddDays(-300), Status = "present", SchoolId = "s" });
            db.ItemResponses.AddRange(
                new ItemResponse { StudentId = student, ItemId = "old", AttemptNumber = 1, SkillIds = "f", AnsweredAt = now.AddDays(-200) },
                new ItemResponse { StudentId = student, ItemId = "new", AttemptNumber = 1, SkillIds = "f", AnsweredAt = now.AddDays(-10) });
            // Grades have no period set: kept however old.
            db.Grades.Add(new GradeRecord { StudentId = student, CourseId = "c", Term = "T1", MarkPercent = 50, Date = today.AddYears(-10) });
            return await db.SaveChangesAsync();
        });

        var kinds = await RunRetentionAsync("/api/ingestion/v1");
        Assert.True(kinds["AttendanceRecords"].GetProperty("deleted").GetInt32() >= 1);
        Assert.Equal("P1Y", kinds["AttendanceRecords"].GetProperty("period").GetString());
        Assert.Equal(JsonValueKind.Null, kinds["Grades"].GetProperty("period").ValueKind);

        var attendance = await Db(db => db.Attendance.Where(a => a.StudentId == student).Select(a => a.Date).ToListAsync());
        Assert.Equal([today.AddDays(-300)], attendance);
        var answers = await Db(db => db.ItemResponses.Where(r => r.StudentId == student).Select(r => r.ItemId).ToListAsync());
        Assert.Equal(["new"], answers);
        Assert.Equal(1, await Db(db => db.Grades.CountAsync(g => g.StudentId == student)));
    }
}

/// <summary>The same erasure and retention on PostgreSQL (skipped unless BEACON_TEST_POSTGRES is set).</summary>
public sealed class PostgresGovernanceTests : GovernanceTests
{
    protected override bool OnPostgres => true;
}
