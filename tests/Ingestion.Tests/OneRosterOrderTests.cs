using System.Net;
using System.Text;
using System.Text.Json;
using Beacon.Ingestion.Storage;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// dateLastModified orders a record's changes: a delta row older than the last one applied to the same record is not
/// applied (a name put back, a withdrawn student brought back), one as old or newer is; a bulk file's stale row still
/// names its record, so it is not ended. OneRoster 1.1 headers; ids are this test's own.
/// </summary>
public sealed class OneRosterOrderTests(ServiceFactory<Program> service) : IClassFixture<ServiceFactory<Program>>
{
    private const string UsersHeader = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password";

    private static MultipartFormDataContent Bundle(string mode, string school, params string[] users)
    {
        var form = new MultipartFormDataContent();
        void Add(string name, string text) => form.Add(new StringContent(text + "\n", Encoding.UTF8, "text/csv"), "files", name);
        Add("manifest.csv", $"propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,{mode}\nfile.users,{mode}");
        Add("orgs.csv", $"sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n{school},active,2026-08-01T00:00:00.000Z,School,school,S,");
        Add("users.csv", UsersHeader + "\n" + string.Join('\n', users));
        return form;
    }

    private static string User(string id, string school, string given, string modified, string status = "active") =>
        $"{id},{status},{modified},true,{school},student,{id},,{given},Order,,,,,,,09,";

    private async Task<JsonElement> PostAsync(MultipartFormDataContent bundle)
    {
        using var response = await service.CreateClient().PostAsync("/api/ingestion/v1/oneroster", bundle);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private Task<(string Given, string Status)> StudentAsync(string id) => service.WithDbAsync<IngestionDbContext, (string, string)>(async db =>
    {
        var s = await db.Students.AsNoTracking().SingleAsync(x => x.StudentId == id);
        return (s.GivenName, s.Status);
    });

    [Fact]
    public async Task A_delta_row_older_than_the_last_change_applied_to_its_record_is_left_out_and_counted()
    {
        var run = $"or{Guid.NewGuid():N}"[..10];
        var (school, s1, s2) = ($"{run}-sch", $"{run}-s1", $"{run}-s2");
        await PostAsync(Bundle("bulk", school, User(s1, school, "Ann", "2026-09-05T10:00:00.000Z"), User(s2, school, "Ben", "2026-09-05T10:00:00.000Z")));

        // A late delta from before: s1's old name and s2's deletion of an earlier day. Neither is applied.
        var late = await PostAsync(Bundle("delta", school, User(s1, school, "Anne-old", "2026-09-01T08:00:00.000Z"),
            User(s2, school, "Ben", "2026-09-02T08:00:00.000Z", status: "tobedeleted")));
        Assert.Equal(2, late.GetProperty("stale").GetInt32());
        Assert.Equal(("Ann", "active"), await StudentAsync(s1));
        Assert.Equal(("Ben", "active"), await StudentAsync(s2));

        // The same change again (as old as the mark) and newer ones are applied; a date-only value reads as that day's midnight.
        var newer = await PostAsync(Bundle("delta", school, User(s1, school, "Annie", "2026-09-05T10:00:00.000Z"),
            User(s2, school, "Ben", "2026-09-06", status: "tobedeleted")));
        Assert.Equal(0, newer.GetProperty("stale").GetInt32());
        Assert.Equal(("Annie", "active"), await StudentAsync(s1));
        Assert.Equal("withdrawn", (await StudentAsync(s2)).Status);
        // ... and the deletion's date is now s2's mark: an older "active" row does not bring them back.
        var back = await PostAsync(Bundle("delta", school, User(s2, school, "Ben", "2026-09-05T23:00:00.000Z")));
        Assert.Equal(1, back.GetProperty("stale").GetInt32());
        Assert.Equal("withdrawn", (await StudentAsync(s2)).Status);
    }

    [Fact]
    public async Task A_bulk_files_stale_row_still_names_its_record_so_it_is_not_ended()
    {
        var run = $"ob{Guid.NewGuid():N}"[..10];
        var (school, s1, s2) = ($"{run}-sch", $"{run}-s1", $"{run}-s2");
        await PostAsync(Bundle("bulk", school, User(s1, school, "Ann", "2026-09-05T10:00:00.000Z"), User(s2, school, "Ben", "2026-09-05T10:00:00.000Z")));
        // An export made before the last one: s1's row is stale (left out), but s1 is listed in it, so s1 is not ended.
        var old = await PostAsync(Bundle("bulk", school, User(s1, school, "Ann-old", "2026-09-01T00:00:00.000Z"), User(s2, school, "Ben", "2026-09-05T10:00:00.000Z")));
        Assert.Equal(1, old.GetProperty("stale").GetInt32());
        Assert.Equal(0, old.GetProperty("endedByBulk").GetProperty("users").GetInt32());
        Assert.Equal(("Ann", "active"), await StudentAsync(s1));
    }
}
