using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Beacon.Ingestion.Storage;
using Beacon.Messaging;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// manifest.csv's bulk, as most SIS send their nightly export: a record the file no longer lists has ended (a student
/// withdrawn, a teacher and a contact gone, an enrollment ended), within the schools the bundle covers and only for
/// files declared bulk. Headers are OneRoster 1.1's; ids are this test's own.
/// </summary>
public sealed class OneRosterBulkTests(ServiceFactory<Program> service) : IClassFixture<ServiceFactory<Program>>
{
    private const string UsersHeader = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password";
    private const string EnrollmentsHeader = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate";

    internal static MultipartFormDataContent Csvs(Dictionary<string, string> files)
    {
        var form = new MultipartFormDataContent();
        foreach (var (name, text) in files)
        {
            form.Add(new StringContent(text + "\n", Encoding.UTF8, "text/csv"), "files", name);
        }
        return form;
    }

    internal static Dictionary<string, string> Bundle(string run, string mode, string school, string[] users, string[] enrollments) => new()
    {
        ["manifest.csv"] = $"propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,{mode}\nfile.users,{mode}\nfile.classes,{mode}\nfile.enrollments,{mode}",
        ["orgs.csv"] = $"sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n{run}-{school},active,2026-08-01,School {school},school,{school},",
        ["users.csv"] = UsersHeader + "\n" + string.Join('\n', users.Select(u => u.Replace("{run}", run).Replace("{school}", $"{run}-{school}"))),
        ["classes.csv"] = $"sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds\n{run}-{school}-c1,active,2026-08-01,Maths,09,,M1,scheduled,,{run}-{school},",
        ["enrollments.csv"] = EnrollmentsHeader + "\n" + string.Join('\n', enrollments.Select(e => e.Replace("{run}", run).Replace("{school}", $"{run}-{school}"))),
    };

    private async Task<JsonElement> PostAsync(Dictionary<string, string> bundle)
    {
        using var response = await service.CreateClient().PostAsync("/api/ingestion/v1/oneroster", Csvs(bundle));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private Task<T> Db<T>(Func<IngestionDbContext, Task<T>> work) => service.WithDbAsync(work);

    internal static readonly string[] AllUsers =
    [
        "{run}-s1,active,2026-08-01,true,{school},student,s1,,Ann,One,,,,,,{run}-p1,09,",
        "{run}-s2,active,2026-08-01,true,{school},student,s2,,Ben,Two,,,,,,,09,",
        "{run}-s3,active,2026-08-01,true,{school},student,s3,,Cas,Three,,,,,,,09,",
        "{run}-t1,active,2026-08-01,true,{school},teacher,t1,,Tia,Teach,,,,,,,,",
        "{run}-p1,active,2026-08-01,true,{school},parent,p1,,Pat,One,,,pat@example.com,,,{run}-s1,,",
    ];

    private static readonly string[] AllEnrollments =
    [
        "{run}-e1,active,2026-08-01,{school}-c1,{school},{run}-s1,student,false,2026-08-20,",
        "{run}-e2,active,2026-08-01,{school}-c1,{school},{run}-s2,student,false,2026-08-20,",
        "{run}-e3,active,2026-08-01,{school}-c1,{school},{run}-s3,student,false,2026-08-20,",
        "{run}-e4,active,2026-08-01,{school}-c1,{school},{run}-t1,teacher,true,2026-08-20,",
    ];

    [Fact]
    public async Task A_bulk_export_that_no_longer_lists_a_record_ends_it_within_its_schools_only()
    {
        var run = $"bk{Guid.NewGuid():N}"[..10];
        await PostAsync(Bundle(run, "bulk", "a", AllUsers, AllEnrollments));
        // Another school, sent in its own bulk bundle: the next bundle, of school a only, must not end its records.
        await PostAsync(Bundle(run, "bulk", "b", [AllUsers[0].Replace("{run}-s1", "{run}-bs1").Replace("{run}-p1", "")], []));
        Assert.Equal(4, await Db(db => db.SectionEnrollments.CountAsync(e => e.SectionId == $"{run}-a-c1")));
        Assert.Single(await Db(db => db.StudentContacts.Where(c => c.ContactId == $"{run}-p1").ToListAsync()));

        // The next night's export of school a: s3 left, the teacher left, s1 has no parent on file, s2 is in no class.
        var next = await PostAsync(Bundle(run, "bulk", "a", [AllUsers[0].Replace("{run}-p1", ""), AllUsers[1]], [AllEnrollments[0]]));
        var ended = next.GetProperty("endedByBulk");
        Assert.Equal(3, ended.GetProperty("users").GetInt32());        // s3, t1, p1
        Assert.Equal(0, ended.GetProperty("classes").GetInt32());
        Assert.Equal(3, ended.GetProperty("enrollments").GetInt32());  // s2, s3, t1 in c1

        var students = await Db(db => db.Students.Where(s => s.StudentId.StartsWith(run)).OrderBy(s => s.StudentId)
            .Select(s => s.StudentId.Substring(run.Length + 1) + ":" + s.Status).ToListAsync());
        // s2 is listed in users.csv: in no class, but not withdrawn. bs1, of school b, untouched.
        Assert.Equal(["bs1:active", "s1:active", "s2:active", "s3:withdrawn"], students);
        var s3 = await Db(db => db.Students.AsNoTracking().SingleAsync(s => s.StudentId == $"{run}-s3"));
        Assert.StartsWith("missing from users.csv, which manifest.csv declares bulk", s3.ExitReason);
        Assert.False(await Db(db => db.Staff.AnyAsync(s => s.StaffId == $"{run}-t1")));
        Assert.Empty(await Db(db => db.StudentContacts.Where(c => c.ContactId == $"{run}-p1").ToListAsync()));
        Assert.Equal([$"{run}-s1"], await Db(db => db.SectionEnrollments.Where(e => e.SectionId == $"{run}-a-c1").Select(e => e.PersonId).ToListAsync()));

        // Each ended record told downstream once: StudentExited for s3, StaffLeft for t1, and the class's roster as it now stands.
        var outbox = await Db(db => db.Set<OutboxMessage>().Where(m => m.Body.Contains(run)).OrderBy(m => m.Sequence).Select(m => new { m.MessageType, m.Body }).ToListAsync());
        Assert.Single(outbox, m => m.MessageType.Contains("StudentExited") && m.Body.Contains($"\"{run}-s3\""));
        Assert.Single(outbox, m => m.MessageType.Contains("StaffLeft") && m.Body.Contains($"\"{run}-t1\""));
        var roster = outbox.Last(m => m.MessageType.Contains("SectionRosterRecorded") && m.Body.Contains($"\"{run}-a-c1\""));
        Assert.Contains($"\"StudentIds\":[\"{run}-s1\"]", roster.Body);

        // The same export again ends nothing more.
        var again = await PostAsync(Bundle(run, "bulk", "a", [AllUsers[0].Replace("{run}-p1", ""), AllUsers[1]], [AllEnrollments[0]]));
        Assert.Equal(0, again.GetProperty("endedByBulk").GetProperty("users").GetInt32());
        Assert.Equal(0, again.GetProperty("endedByBulk").GetProperty("enrollments").GetInt32());
    }

    [Fact]
    public async Task A_delta_or_a_bundle_without_a_manifest_ends_nothing_it_does_not_name()
    {
        var run = $"dl{Guid.NewGuid():N}"[..10];
        await PostAsync(Bundle(run, "bulk", "a", AllUsers, AllEnrollments));
        var delta = await PostAsync(Bundle(run, "delta", "a", [AllUsers[0]], [AllEnrollments[0]]));
        Assert.False(delta.TryGetProperty("endedByBulk", out _));
        var noManifest = Bundle(run, "bulk", "a", [AllUsers[1]], []);
        noManifest.Remove("manifest.csv");
        await PostAsync(noManifest);
        Assert.Equal(0, await Db(db => db.Students.CountAsync(s => s.StudentId.StartsWith(run) && s.Status != "active")));
        Assert.Equal(4, await Db(db => db.SectionEnrollments.CountAsync(e => e.SectionId == $"{run}-a-c1")));
        Assert.True(await Db(db => db.Staff.AnyAsync(s => s.StaffId == $"{run}-t1")));
    }
}
