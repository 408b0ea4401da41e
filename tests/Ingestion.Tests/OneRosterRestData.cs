using System.Text;
using System.Text.Json.Nodes;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// One district's roster in OneRoster REST 1.2's JSON shapes (references as {href, sourcedId, type}, userIds as
/// {type, identifier}, roles inside the user, grades as a list, metadata extensions), and the same roster written
/// as the CSV 1.2 bundle a SIS would export, so a test can hold what a pull lands against what the bundle lands.
/// </summary>
public static class OneRosterRestData
{
    public const string Modified = "2026-09-01T08:00:00.000Z";

    /// <summary>The newest dateLastModified below (the high-water mark after pulling it all).</summary>
    public const string Newest = "2026-09-03T10:15:00.000Z";

    public static JsonObject Ref(string id, string type) =>
        new() { ["href"] = $"https://sis.example.org/ims/oneroster/rostering/v1p2/{type}s/{id}", ["sourcedId"] = id, ["type"] = type };

    public static JsonObject Org(string id, string name, string type, string? parent) => new()
    {
        ["sourcedId"] = id,
        ["status"] = "active",
        ["dateLastModified"] = Modified,
        ["name"] = name,
        ["type"] = type,
        ["identifier"] = id.ToUpperInvariant(),
        ["parent"] = parent is null ? null : Ref(parent, "org"),
        ["children"] = new JsonArray(),
    };

    public static JsonObject User(string id, string given, string family, string role, string org, string? grade = null, string? email = null,
        string? agent = null, string modified = Modified, string status = "active") => new()
        {
            ["sourcedId"] = id,
            ["status"] = status,
            ["dateLastModified"] = modified,
            ["enabledUser"] = "true",
            ["username"] = id,
            ["userIds"] = new JsonArray(new JsonObject { ["type"] = "SIS", ["identifier"] = id.ToUpperInvariant() }),
            ["givenName"] = given,
            ["familyName"] = family,
            ["identifier"] = id.ToUpperInvariant(),
            ["email"] = email,
            ["roles"] = new JsonArray(new JsonObject { ["roleType"] = "primary", ["role"] = role, ["org"] = Ref(org, "org") }),
            ["primaryOrg"] = Ref(org, "org"),
            ["agents"] = agent is null ? new JsonArray() : new JsonArray(Ref(agent, "user")),
            ["grades"] = grade is null ? new JsonArray() : new JsonArray(grade),
            ["metadata"] = new JsonObject { ["ext_lunchCode"] = "F" },
        };

    public static JsonObject Enrollment(string id, string cls, string user, string role, string modified = Modified, string status = "active") => new()
    {
        ["sourcedId"] = id,
        ["status"] = status,
        ["dateLastModified"] = modified,
        ["role"] = role,
        ["primary"] = role == "teacher",
        ["user"] = Ref(user, "user"),
        ["class"] = Ref(cls, "class"),
        ["school"] = Ref("hs", "org"),
        ["beginDate"] = "2026-08-20",
    };

    /// <summary>The district's roster: 10 users (one without a family name), a class under a department, one enrollment of an unknown user.</summary>
    public static void Load(OneRosterRestProvider provider)
    {
        provider.Put("orgs", Org("dist", "Lakeview District", "district", null), Org("hs", "Lakeview High", "school", "dist"), Org("math", "Mathematics", "department", "hs"));
        provider.Put("academicSessions",
            new JsonObject
            {
                ["sourcedId"] = "y2027",
                ["status"] = "active",
                ["dateLastModified"] = Modified,
                ["title"] = "2026-27",
                ["type"] = "schoolYear",
                ["startDate"] = "2026-08-20",
                ["endDate"] = "2027-06-10",
                ["schoolYear"] = "2027",
                ["children"] = new JsonArray(Ref("fall", "academicSession"))
            },
            new JsonObject
            {
                ["sourcedId"] = "fall",
                ["status"] = "active",
                ["dateLastModified"] = Modified,
                ["title"] = "Fall",
                ["type"] = "term",
                ["startDate"] = "2026-08-20",
                ["endDate"] = "2026-12-20",
                ["parent"] = Ref("y2027", "academicSession"),
                ["schoolYear"] = "2027"
            });
        provider.Put("users",
            User("cns", "Rosa", "Lee", "counselor", "hs", email: "rosa.lee@lakeview.example.edu"),
            User("tch", "Tom", "Nash", "teacher", "math", email: "tom.nash@lakeview.example.edu"),
            User("par", "Ann", "Marsh", "parent", "hs", email: "ann.marsh@example.com", agent: "s1"),
            User("s1", "Ivy", "Marsh", "student", "hs", "09", email: "ivy@students.lakeview.example.edu", modified: Newest),
            User("s2", "Noah", "Reed", "student", "hs", "10"),
            User("s3", "Mia", "Cole", "student", "hs", "09"),
            User("s4", "Leo", "Park", "student", "hs", "11"),
            User("s5", "Zoe", "Hart", "student", "hs", "12"),
            User("s6", "Eli", "Ford", "student", "hs", "09"),
            User("sbad", "Max", "", "student", "hs", "10"));
        provider.Put("classes", new JsonObject
        {
            ["sourcedId"] = "alg",
            ["status"] = "active",
            ["dateLastModified"] = Modified,
            ["title"] = "Algebra I - P1",
            ["classCode"] = "ALG1-1",
            ["classType"] = "scheduled",
            ["grades"] = new JsonArray("09"),
            ["course"] = Ref("alg-course", "course"),
            ["school"] = Ref("math", "org"),
            ["terms"] = new JsonArray(Ref("fall", "academicSession")),
            ["periods"] = new JsonArray("1"),
        });
        provider.Put("enrollments",
            Enrollment("e1", "alg", "s1", "student"), Enrollment("e2", "alg", "s2", "student"), Enrollment("e3", "alg", "s3", "student"),
            Enrollment("e4", "alg", "tch", "teacher"), Enrollment("e9", "alg", "ghost", "student"));
        provider.Put("demographics",
            new JsonObject
            {
                ["sourcedId"] = "s1",
                ["status"] = "active",
                ["dateLastModified"] = Modified,
                ["sex"] = "female",
                ["birthDate"] = "2011-03-02",
                ["hispanicOrLatinoEthnicity"] = "false",
                ["asian"] = "true",
                ["white"] = "true",
                ["metadata"] = new JsonObject { ["englishLearner"] = "true" }
            },
            new JsonObject { ["sourcedId"] = "s2", ["status"] = "active", ["dateLastModified"] = Modified, ["sex"] = "male", ["hispanicOrLatinoEthnicity"] = "true" });
    }

    /// <summary>The same roster as a SIS's CSV 1.2 export (roles in roles.csv), rows in sourcedId order as the provider pages them.</summary>
    public static readonly Dictionary<string, string> Csv = new()
    {
        ["manifest.csv"] = "propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.orgs,bulk\nfile.users,bulk\nfile.roles,bulk\nfile.classes,bulk\nfile.enrollments,bulk\nfile.demographics,bulk\nfile.academicSessions,bulk",
        ["orgs.csv"] = Lines("sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId",
            "dist,active,M,Lakeview District,district,DIST,", "hs,active,M,Lakeview High,school,HS,dist", "math,active,M,Mathematics,department,MATH,hs"),
        ["academicSessions.csv"] = Lines("sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear",
            "fall,active,M,Fall,term,2026-08-20,2026-12-20,y2027,2027", "y2027,active,M,2026-27,schoolYear,2026-08-20,2027-06-10,,2027"),
        ["users.csv"] = Lines("sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,identifier,email,agentSourcedIds,grades,primaryOrgSourcedId,metadata.ext_lunchCode",
            "cns,active,M,true,cns,{SIS:CNS},Rosa,Lee,CNS,rosa.lee@lakeview.example.edu,,,hs,F",
            "par,active,M,true,par,{SIS:PAR},Ann,Marsh,PAR,ann.marsh@example.com,s1,,hs,F",
            $"s1,active,{Newest},true,s1,{{SIS:S1}},Ivy,Marsh,S1,ivy@students.lakeview.example.edu,,09,hs,F",
            "s2,active,M,true,s2,{SIS:S2},Noah,Reed,S2,,,10,hs,F", "s3,active,M,true,s3,{SIS:S3},Mia,Cole,S3,,,09,hs,F",
            "s4,active,M,true,s4,{SIS:S4},Leo,Park,S4,,,11,hs,F", "s5,active,M,true,s5,{SIS:S5},Zoe,Hart,S5,,,12,hs,F",
            "s6,active,M,true,s6,{SIS:S6},Eli,Ford,S6,,,09,hs,F", "sbad,active,M,true,sbad,{SIS:SBAD},Max,,SBAD,,,10,hs,F",
            "tch,active,M,true,tch,{SIS:TCH},Tom,Nash,TCH,tom.nash@lakeview.example.edu,,,math,F"),
        ["roles.csv"] = Lines("sourcedId,status,dateLastModified,userSourcedId,roleType,role,orgSourcedId",
            "r1,active,M,cns,primary,counselor,hs", "r2,active,M,par,primary,parent,hs", "r3,active,M,s1,primary,student,hs", "r4,active,M,s2,primary,student,hs",
            "r5,active,M,s3,primary,student,hs", "r6,active,M,s4,primary,student,hs", "r7,active,M,s5,primary,student,hs", "r8,active,M,s6,primary,student,hs",
            "r9,active,M,sbad,primary,student,hs", "r10,active,M,tch,primary,teacher,math"),
        ["classes.csv"] = Lines("sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,schoolSourcedId,termSourcedIds,periods",
            "alg,active,M,Algebra I - P1,09,alg-course,ALG1-1,scheduled,math,fall,1"),
        ["enrollments.csv"] = Lines("sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate",
            "e1,active,M,alg,hs,s1,student,false,2026-08-20", "e2,active,M,alg,hs,s2,student,false,2026-08-20", "e3,active,M,alg,hs,s3,student,false,2026-08-20",
            "e4,active,M,alg,hs,tch,teacher,true,2026-08-20", "e9,active,M,alg,hs,ghost,student,false,2026-08-20"),
        ["demographics.csv"] = Lines("sourcedId,status,dateLastModified,birthDate,sex,americanIndianOrAlaskaNative,asian,blackOrAfricanAmerican,nativeHawaiianOrOtherPacificIslander,white,demographicRaceTwoOrMoreRaces,hispanicOrLatinoEthnicity,metadata.englishLearner",
            "s1,active,M,2011-03-02,female,,true,,,true,,false,true", "s2,active,M,,male,,,,,,,true,"),
    };

    private static string Lines(string header, params string[] rows) =>
        new StringBuilder(header).AppendJoin("", rows.Select(r => "\n" + r.Replace(",M,", $",{Modified},", StringComparison.Ordinal))).ToString();
}
