using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Beacon.Ingestion.Storage;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// Whole OneRoster bundles as SIS export them: a 1.2 zip (manifest, roles.csv, files Beacon does not use, a
/// district → school → department hierarchy, extension columns, columns in another order) and a 1.1 delta.
/// The files follow the 1EdTech CSV tables' headers; ids are this test's own.
/// </summary>
public sealed class OneRosterBundleTests(ServiceFactory<Program> service) : IClassFixture<ServiceFactory<Program>>
{
    private static readonly Dictionary<string, string> Bundle12 = new()
    {
        ["manifest.csv"] = """
            propertyName,value
            manifest.version,1.0
            oneroster.version,1.2
            file.academicSessions,bulk
            file.categories,absent
            file.classes,bulk
            file.classResources,absent
            file.courses,bulk
            file.courseResources,absent
            file.demographics,absent
            file.enrollments,bulk
            file.lineItems,absent
            file.orgs,bulk
            file.resources,absent
            file.results,absent
            file.roles,bulk
            file.userProfiles,bulk
            file.users,bulk
            source.systemName,Example SIS
            """,
        ["orgs.csv"] = """
            sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId
            b12-dist,active,2026-08-01T00:00:00.000Z,Lakeview District,district,LVD,
            b12-hs,active,2026-08-01T00:00:00.000Z,Lakeview High,school,LHS,b12-dist
            b12-math,active,2026-08-01T00:00:00.000Z,Mathematics,department,LHS-M,b12-hs
            """,
        // 1.2: no role column (roles.csv holds them), primaryOrgSourcedId, preferred names, an extension column, another column order.
        ["users.csv"] = """
            sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,resourceSourcedIds,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns,ext_lunchCode
            b12-c1,active,2026-08-01,true,rlee,{SIS:100},Rosa,Lee,,C100,rosa.lee@lakeview.example.edu,,,,,,,,,,,b12-hs,she/her,
            b12-t1,active,2026-08-01,true,tnash,{SIS:200},Tom,Nash,,T200,tom.nash@lakeview.example.edu,,,,,,,,,,,b12-math,,
            b12-t2,active,2026-08-01,true,dwide,{SIS:201},Dana,Wide,,T201,dana.wide@lakeview.example.edu,,,,,,,,,,,b12-dist,,
            b12-s1,active,2026-08-01,true,s1,{SIS:300},Ivy,Marsh,,S300,,,,b12-p1,09,,,,,,,b12-hs,,F
            b12-s2,active,2026-08-01,true,s2,{SIS:301},Noah,Reed,,S301,,,,,10,,,,,,,b12-dist,,R
            b12-p1,active,2026-08-01,true,p1,,Ann,Marsh,,,ann.marsh@example.com,,,b12-s1,,,,,,,,,,
            b12-a1,active,2026-08-01,true,admin,,Al,Boss,,,al.boss@lakeview.example.edu,,,,,,,,,,,b12-dist,,
            """,
        ["roles.csv"] = """
            sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId
            r-1,active,2026-08-01,b12-c1,primary,counselor,2026-08-01,,b12-hs,
            r-2,active,2026-08-01,b12-t1,primary,teacher,2026-08-01,,b12-math,
            r-3,active,2026-08-01,b12-t2,primary,teacher,2026-08-01,,b12-dist,
            r-4,active,2026-08-01,b12-s1,primary,student,2026-08-01,,b12-hs,
            r-5,active,2026-08-01,b12-s2,secondary,student,2026-08-01,,b12-dist,
            r-6,active,2026-08-01,b12-s2,primary,student,2026-08-01,,b12-hs,
            r-7,active,2026-08-01,b12-p1,primary,parent,2026-08-01,,b12-hs,
            r-8,active,2026-08-01,b12-a1,primary,districtAdministrator,2026-08-01,,b12-dist,
            """,
        ["userProfiles.csv"] = """
            sourcedId,status,dateLastModified,userSourcedId,profileType,vendorId,applicationId,description,credentialType,username,password
            up-1,active,2026-08-01,b12-s1,lms,v1,app1,LMS login,password,s1,
            """,
        ["academicSessions.csv"] = """
            sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear
            y-2027,active,2026-08-01,2026-27,schoolYear,2026-08-20,2027-06-10,,2027
            t-1,active,2026-08-01,Fall,term,2026-08-20,2026-12-20,y-2027,2027
            """,
        ["courses.csv"] = """
            sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes
            co-alg,active,2026-08-01,y-2027,Algebra I,ALG1,09,b12-hs,Math,
            """,
        ["classes.csv"] = """
            title,sourcedId,status,dateLastModified,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods,metadata.room
            Algebra I - P1,b12-alg,active,2026-08-01,09,co-alg,ALG1-1,scheduled,Rm 4,b12-hs,t-1,Math,,1,104
            """,
        ["enrollments.csv"] = """
            sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate
            e-1,active,2026-08-01,b12-alg,b12-hs,b12-s1,student,false,2026-08-20,
            e-2,active,2026-08-01,b12-alg,b12-hs,b12-s2,student,false,2026-08-20,
            e-3,active,2026-08-01,b12-alg,b12-hs,b12-t1,teacher,true,2026-08-20,
            """,
    };

    private static ByteArrayContent Zip(Dictionary<string, string> files, string folder = "")
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, text) in files)
            {
                using var writer = new StreamWriter(zip.CreateEntry(folder + name).Open(), new UTF8Encoding(false));
                writer.Write(text.ReplaceLineEndings("\r\n") + "\r\n");
            }
        }
        var content = new ByteArrayContent(buffer.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
        return content;
    }

    private static MultipartFormDataContent Csvs(Dictionary<string, string> files)
    {
        var form = new MultipartFormDataContent();
        foreach (var (name, text) in files)
        {
            form.Add(new StringContent(text + "\n", Encoding.UTF8, "text/csv"), "files", name);
        }
        return form;
    }

    private Task<T> Db<T>(Func<IngestionDbContext, Task<T>> work) => service.WithDbAsync(work);

    [Fact]
    public async Task A_1_2_zip_with_roles_hierarchy_and_unused_files_goes_in_whole()
    {
        using var response = await service.CreateClient().PostAsync("/api/ingestion/v1/oneroster", Zip(Bundle12, "export-2026-08-01/"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        var summary = JsonDocument.Parse(body).RootElement;
        Assert.Equal("1.2", summary.GetProperty("oneRosterVersion").GetString());
        var files = summary.GetProperty("files").EnumerateArray().ToDictionary(f => f.GetProperty("file").GetString()!, f => f.GetProperty("use").GetString());
        Assert.Equal("read", files["roles.csv"]);
        Assert.Equal("read", files["users.csv"]);
        Assert.Equal("not used by Beacon", files["courses.csv"]);
        Assert.Equal("read", files["academicSessions.csv"]);
        Assert.Equal("not used by Beacon", files["userProfiles.csv"]);

        Assert.Equal(["b12-p1:parent:ann.marsh@example.com"],
            await Db(db => db.StudentContacts.Where(c => c.StudentId == "b12-s1").Select(c => $"{c.ContactId}:{c.Relationship}:{c.Email}").ToListAsync()));
        Assert.Equal(2, await Db(db => db.AcademicSessions.CountAsync(a => a.SessionId == "y-2027" || a.SessionId == "t-1")));

        var (students, staff, members) = await Db(async db => (
            await db.Students.Where(s => s.StudentId.StartsWith("b12-")).OrderBy(s => s.StudentId).Select(s => s.StudentId + "@" + s.SchoolId + ":" + s.GradeLevel).ToListAsync(),
            await db.Staff.Where(s => s.StaffId.StartsWith("b12-")).OrderBy(s => s.StaffId).Select(s => s.StaffId + "@" + s.SchoolId + ":" + s.Role).ToListAsync(),
            await db.SectionEnrollments.CountAsync(e => e.SectionId == "b12-alg")));
        // The role comes from roles.csv (1.2), the primary one first; b12-s2's primary org is the district, its role's org the school.
        Assert.Equal(["b12-s1@b12-hs:09", "b12-s2@b12-hs:10"], students);
        // The teacher of the maths department belongs to its school; a teacher of the district alone, the parent and
        // the district administrator are not school staff and are skipped, not rejected.
        Assert.Equal(["b12-c1@b12-hs:counselor", "b12-t1@b12-hs:teacher"], staff);
        Assert.Equal(3, members);
    }

    [Fact]
    public async Task A_1_1_delta_ends_a_deleted_enrollment_and_skips_a_file_the_manifest_declares_absent()
    {
        using (var first = await service.CreateClient().PostAsync("/api/ingestion/v1/oneroster", Zip(Bundle12)))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }
        var delta = new Dictionary<string, string>
        {
            ["manifest.csv"] = "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.enrollments,delta\nfile.users,absent\nfile.orgs,absent",
            // Present, but declared absent: not read (the name change would otherwise apply).
            ["users.csv"] = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n"
                + "b12-s1,active,2026-09-01,true,b12-hs,student,s1,,Changed,Name,,,,,,,09,",
            ["enrollments.csv"] = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n"
                + "e-2,tobedeleted,2026-09-01,b12-alg,b12-hs,b12-s2,student,false,2026-08-20,2026-09-01",
        };
        Task<int> EventsAsync(string type) => Db(db => db.Set<Beacon.Messaging.OutboxMessage>()
            .CountAsync(m => m.MessageType.Contains(type) && m.Body.Contains("\"b12-s2\"")));
        var (exitsBefore, enrolmentsBefore) = (await EventsAsync("StudentExited"), await EventsAsync("StudentEnrolled"));
        using var response = await service.CreateClient().PostAsync("/api/ingestion/v1/oneroster", Csvs(delta));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        var files = JsonDocument.Parse(body).RootElement.GetProperty("files").EnumerateArray().ToDictionary(f => f.GetProperty("file").GetString()!, f => f);
        Assert.Equal("delta", files["enrollments.csv"].GetProperty("mode").GetString());
        Assert.StartsWith("declared absent", files["users.csv"].GetProperty("use").GetString());

        var (members, name, s2) = await Db(async db => (
            await db.SectionEnrollments.Where(e => e.SectionId == "b12-alg").Select(e => e.PersonId).OrderBy(p => p).ToListAsync(),
            (await db.Students.FindAsync("b12-s1"))!.GivenName,
            await db.Students.AnyAsync(s => s.StudentId == "b12-s2")));
        Assert.Equal(["b12-s1", "b12-t1"], members);   // the deleted enrollment ended
        Assert.Equal("Ivy", name);                      // users.csv was not read
        Assert.True(s2);                                // a deleted enrollment erases no one from the roster

        // That was b12-s2's only class at the school: they left it (withdrawn, StudentExited); b12-s1, still in a class, did not.
        var statuses = await Db(db => db.Students.Where(s => s.StudentId == "b12-s1" || s.StudentId == "b12-s2").OrderBy(s => s.StudentId)
            .Select(s => s.StudentId + ":" + s.Status).ToListAsync());
        Assert.Equal(["b12-s1:active", "b12-s2:withdrawn"], statuses);
        Assert.Equal(exitsBefore + 1, await EventsAsync("StudentExited"));

        // A later delta enrols b12-s2 in a class of the school again: active again, StudentEnrolled published once.
        var back = new Dictionary<string, string>
        {
            ["manifest.csv"] = "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.enrollments,delta",
            ["enrollments.csv"] = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n"
                + "e-4,active,2026-09-10,b12-alg,b12-hs,b12-s2,student,false,2026-09-10,",
        };
        for (var i = 0; i < 2; i++)
        {
            using var again = await service.CreateClient().PostAsync("/api/ingestion/v1/oneroster", Csvs(back));
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }
        Assert.Equal("active", await Db(async db => (await db.Students.AsNoTracking().SingleAsync(s => s.StudentId == "b12-s2")).Status));
        Assert.Equal(enrolmentsBefore + 1, await EventsAsync("StudentEnrolled"));
    }

    [Fact]
    public async Task Parents_become_contacts_sessions_are_kept_and_a_delta_withdraws_a_deleted_student_ends_a_class_and_closes_a_school()
    {
        const string Users = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n";
        var bulk = new Dictionary<string, string>
        {
            ["manifest.csv"] = "propertyName,value\noneroster.version,1.1\nfile.orgs,bulk\nfile.users,bulk\nfile.classes,bulk\nfile.enrollments,bulk\nfile.academicSessions,bulk",
            ["orgs.csv"] = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\nd11-hs,active,,Delta High,school,,\nd11-annex,active,,Delta Annex,school,,",
            // The parent names the student; the guardian is named only from the student's side; the relative of no one on the roster is not kept.
            ["users.csv"] = Users
                + "d11-s1,active,,true,d11-hs,student,s1,,Ivy,Marsh,,,,,,d11-g1,08,\n"
                + "d11-s2,active,,true,d11-hs,student,s2,,Noah,Reed,,,,,,,08,\n"
                + "d11-t9,active,,true,d11-hs,teacher,t9,,Tom,Vance,,,tom.vance@example.edu,,,,,\n"
                + "d11-p1,active,,true,d11-hs,parent,p1,,Ann,Marsh,,,ann.marsh@example.com,,+15550100,d11-s1,,\n"
                + "d11-g1,active,,true,d11-hs,guardian,g1,,Gil,Marsh,,,,,+15550101,,,\n"
                + "d11-r1,active,,true,d11-hs,relative,r1,,Rae,Else,,,,,,nobody,,",
            ["classes.csv"] = "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n"
                + "d11-c1,active,,Math 8,08,,M8,scheduled,,d11-hs,d11-t1,,,\nd11-c2,active,,Art 8,08,,A8,scheduled,,d11-hs,d11-t1,,,",
            ["enrollments.csv"] = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n"
                + "d11-e1,active,,d11-c1,d11-hs,d11-s1,student,false,,\nd11-e2,active,,d11-c2,d11-hs,d11-s2,student,false,,\n"
                + "d11-e9,active,,d11-c1,d11-hs,d11-t9,teacher,true,,",
            ["academicSessions.csv"] = "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n"
                + "d11-y,active,,2026-27,schoolYear,2026-08-20,2027-06-10,,2027\nd11-t1,active,,Fall,term,2026-08-20,2026-12-20,d11-y,2027\n"
                + "d11-bad,active,,Spring,season,2027-01-05,2026-06-10,d11-y,2027",
        };
        using (var first = await service.CreateClient().PostAsync("/api/ingestion/v1/oneroster", Csvs(bulk)))
        {
            // The one broken session row is named with both of its problems; the rest went in.
            Assert.Equal(["academicSessions.csv:lines[4].endDate", "academicSessions.csv:lines[4].type"], IngestionApi.ErrorKeys(await IngestionApi.ProblemAsync(first)));
        }
        var contacts = await Db(db => db.StudentContacts.Where(c => c.StudentId.StartsWith("d11-")).OrderBy(c => c.ContactId)
            .Select(c => $"{c.StudentId}<-{c.ContactId}:{c.Relationship}:{c.GivenName} {c.FamilyName}:{c.Email}:{c.Phone}").ToListAsync());
        Assert.Equal(["d11-s1<-d11-g1:guardian:Gil Marsh::+15550101", "d11-s1<-d11-p1:parent:Ann Marsh:ann.marsh@example.com:+15550100"], contacts);
        Assert.Equal(["d11-t1:term:2026-08-20", "d11-y:schoolYear:2026-08-20"],
            await Db(db => db.AcademicSessions.Where(a => a.SessionId.StartsWith("d11-")).OrderBy(a => a.SessionId).Select(a => $"{a.SessionId}:{a.Type}:{a.StartDate:yyyy-MM-dd}").ToListAsync()));

        var delta = new Dictionary<string, string>
        {
            ["manifest.csv"] = "propertyName,value\noneroster.version,1.1\nfile.orgs,delta\nfile.users,delta\nfile.classes,delta\nfile.academicSessions,delta",
            ["orgs.csv"] = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\nd11-annex,tobedeleted,2026-09-01,Delta Annex,school,,",
            // The SIS says why the student left in an extension column; it travels as the exit code.
            ["users.csv"] = Users.TrimEnd('\n') + ",metadata.exitCode\n" + "d11-s1,tobedeleted,2026-09-01,true,d11-hs,student,s1,,Ivy,Marsh,,,,,,,08,,dropped-out\n"
                // A teacher who left: off the roster and out of their class, StaffLeft published.
                + "d11-t9,tobedeleted,2026-09-01,true,d11-hs,teacher,t9,,Tom,Vance,,,,,,,,,",
            ["classes.csv"] = "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n"
                + "d11-c2,tobedeleted,2026-09-01,Art 8,08,,A8,scheduled,,d11-hs,d11-t1,,,",
            ["academicSessions.csv"] = "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\nd11-t1,tobedeleted,2026-09-01,Fall,term,2026-08-20,2026-12-20,d11-y,2027",
        };
        using (var second = await service.CreateClient().PostAsync("/api/ingestion/v1/oneroster", Csvs(delta)))
        {
            Assert.True(second.StatusCode == HttpStatusCode.OK, await second.Content.ReadAsStringAsync());
        }
        var (s1, sections, members, annex, sessions, exited) = await Db(async db => (
            await db.Students.AsNoTracking().SingleAsync(s => s.StudentId == "d11-s1"),
            await db.Sections.Where(s => s.SectionId.StartsWith("d11-")).Select(s => s.SectionId).ToListAsync(),
            await db.SectionEnrollments.Where(e => e.SectionId.StartsWith("d11-")).Select(e => e.PersonId).ToListAsync(),
            await db.Schools.AsNoTracking().SingleAsync(s => s.SchoolId == "d11-annex"),
            await db.AcademicSessions.Where(a => a.SessionId.StartsWith("d11-")).Select(a => a.SessionId).ToListAsync(),
            await db.Set<Beacon.Messaging.OutboxMessage>().CountAsync(m => m.MessageType.Contains("StudentExited") && m.Body.Contains("\"d11-s1\"")
                && m.Body.Contains("\"ExitCode\":\"dropped-out\""))));
        // Withdrawn, not erased: the student is kept with the reason, out of their class, and StudentExited was published once.
        Assert.Equal(("withdrawn", "d11-hs"), (s1.Status, s1.SchoolId));
        Assert.Contains("tobedeleted", s1.ExitReason);
        Assert.Equal(1, exited);
        Assert.Equal(["d11-c1"], sections);   // the deleted class ended, with its enrollment
        Assert.Empty(members);                // d11-s1 and the teacher left d11-c1; d11-s2's only class was d11-c2
        Assert.NotNull(annex.ClosedAt);       // a deleted school is kept, closed
        Assert.Equal(["d11-y"], sessions);
        Assert.Equal(2, await Db(db => db.StudentContacts.CountAsync(c => c.StudentId == "d11-s1")));   // a withdrawn student's contacts stay
        Assert.False(await Db(db => db.Staff.AnyAsync(s => s.StaffId == "d11-t9")));
        Assert.Equal(1, await Db(db => db.Set<Beacon.Messaging.OutboxMessage>().CountAsync(m => m.MessageType.Contains("StaffLeft") && m.Body.Contains("\"d11-t9\"")
            && m.Body.Contains("\"Role\":\"teacher\""))));
    }

    [Fact]
    public async Task A_manifest_that_declares_a_missing_file_is_a_row_error_and_the_rest_is_kept()
    {
        var bundle = new Dictionary<string, string>
        {
            ["manifest.csv"] = "propertyName,value\noneroster.version,1.2\nfile.orgs,bulk\nfile.users,bulk\nfile.classes,sometimes",
            ["orgs.csv"] = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\nb12-ms,active,2026-08-01,Lakeview Middle,school,LMS,",
        };
        using var response = await service.CreateClient().PostAsync("/api/ingestion/v1/oneroster", Csvs(bundle));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await IngestionApi.ProblemAsync(response);
        Assert.Equal(["manifest.csv.file.classes", "manifest.csv.file.users"], IngestionApi.ErrorKeys(problem));
        Assert.True(await Db(db => db.Schools.AnyAsync(s => s.SchoolId == "b12-ms")));
    }

    [Fact]
    public async Task A_broken_zip_or_a_file_outside_the_spec_is_refused_whole_with_the_reason()
    {
        var notZip = new ByteArrayContent("this is not a zip"u8.ToArray());
        notZip.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
        using var broken = await service.CreateClient().PostAsync("/api/ingestion/v1/oneroster", notZip);
        Assert.Equal(HttpStatusCode.BadRequest, broken.StatusCode);
        Assert.Contains("zip", await broken.Content.ReadAsStringAsync());

        using var stray = await service.CreateClient().PostAsync("/api/ingestion/v1/oneroster", Zip(new() { ["orgs.csv"] = "sourcedId,name,type\nb12-x,X,school", ["grades.csv"] = "a,b\n1,2" }));
        Assert.Equal(HttpStatusCode.BadRequest, stray.StatusCode);
        Assert.Contains("grades.csv", await stray.Content.ReadAsStringAsync());
        Assert.False(await Db(db => db.Schools.AnyAsync(s => s.SchoolId == "b12-x")));
    }
}
