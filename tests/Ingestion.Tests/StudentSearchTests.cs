using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Ingestion.Domain;
using Beacon.Ingestion.Storage;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// Staff find a student by name or id within their schools (#20 item 5), on SQLite and on PostgreSQL: case and
/// accents ignored (SQLite's lower() folds ASCII only, so this needs the folded search key), words in any order,
/// another school's students never shown, an exact id first, a roster identifier found, bad queries a 400.
/// </summary>
public sealed class StudentSearchTests
{
    private const string School = Callers.School;
    private const string Other = Callers.OtherSchool;

    public static TheoryData<string> Providers => new() { "sqlite", "postgres" };

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Staff_find_students_of_their_schools_by_name_or_id(string provider)
    {
        await using var service = NewService(provider);
        await SeedAsync(service);
        using var counselor = service.CreateClientAs(Callers.Token("counselor"));

        // Words in any order, any case, accents or not; the comma of "family, given" is not a word.
        Assert.Equal(["srch-2", "srch-3"], await IdsAsync(counselor, "smith ann"));
        Assert.Equal(["srch-2", "srch-3"], await IdsAsync(counselor, "Smith, Ann"));
        Assert.Equal(["srch-1"], await IdsAsync(counselor, "jose"));
        Assert.Equal(["srch-1"], await IdsAsync(counselor, "ÁLVAREZ"));
        Assert.Equal(["srch-1"], await IdsAsync(counselor, "JOSÉ álvarez"));
        // Another school's Ann Smith (srch-5) is invisible to this counselor, and visible to an administrator.
        Assert.DoesNotContain("srch-5", await IdsAsync(counselor, "ann smith"));
        using var admin = service.CreateClient();
        Assert.Equal(["srch-2", "srch-5", "srch-3"], await IdsAsync(admin, "ann smith"));
        // An exact id comes first, then the ids that contain it, by name.
        Assert.Equal(["srch-1", "srch-10"], await IdsAsync(counselor, "srch-1"));
        // A roster identifier (OneRoster identifier / e-mail) finds its student exactly; a hash never does.
        Assert.Equal(["srch-4"], await IdsAsync(counselor, "STATE-0042"));
        Assert.Equal(["srch-4"], await IdsAsync(counselor, "Bob.ONeil@example.edu"));
        Assert.Empty(await IdsAsync(counselor, "0a1b2c3d4e"));
        Assert.Empty(await IdsAsync(counselor, "nobody-by-this-name"));

        var limited = await counselor.GetFromJsonAsync<JsonElement>("/api/ingestion/v1/students?q=srch&limit=2");
        Assert.Equal(2, limited.GetProperty("students").GetArrayLength());
        Assert.True(limited.GetProperty("truncated").GetBoolean());
        var first = limited.GetProperty("students")[0];
        Assert.Equal("Álvarez", first.GetProperty("familyName").GetString());
        Assert.Equal("active", first.GetProperty("status").GetString());
        Assert.False((await counselor.GetFromJsonAsync<JsonElement>("/api/ingestion/v1/students?q=srch&limit=100")).GetProperty("truncated").GetBoolean());

        // A school filter narrows; another school's filter finds nothing rather than saying the school exists.
        Assert.Empty(await IdsAsync(counselor, "ann", $"&schoolId={Other}"));
    }

    [SkippableTheory]
    [MemberData(nameof(Providers))]
    public async Task Students_stored_before_search_existed_are_found_after_a_start(string provider)
    {
        await using var service = NewService(provider);
        await SeedAsync(service);
        // What a database made by an earlier version holds: the column added empty.
        await service.WithDbAsync<IngestionDbContext, int>(db => db.Students.Where(s => s.StudentId.StartsWith("srch-")).ExecuteUpdateAsync(s => s.SetProperty(x => x.SearchKey, "")));
        using var counselor = service.CreateClientAs(Callers.Token("counselor"));
        Assert.Empty(await IdsAsync(counselor, "jose"));

        await new StudentSearchBackfill(service.Services.GetRequiredService<IServiceScopeFactory>(), NullLogger<StudentSearchBackfill>.Instance).StartAsync(CancellationToken.None);
        Assert.Equal(["srch-1"], await IdsAsync(counselor, "jose"));
        Assert.Equal(0, await service.WithDbAsync<IngestionDbContext, int>(db => db.Students.CountAsync(s => s.SearchKey == "")));
    }

    [Fact]
    public async Task A_query_too_short_or_a_bad_limit_is_a_400_naming_the_field()
    {
        await using var service = new ServiceFactory<Program>();
        using var counselor = service.CreateClientAs(Callers.Token("counselor"));
        foreach (var (query, field) in new[] { ("?q=a", "q"), ("", "q"), ("?q=%20%20", "q"), ($"?q={new string('x', 101)}", "q"), ("?q=ann&limit=0", "limit"), ("?q=ann&limit=101", "limit") })
        {
            using var response = await counselor.GetAsync($"/api/ingestion/v1/students{query}");
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal([field], IngestionApi.ErrorKeys(await IngestionApi.ProblemAsync(response)));
        }
    }

    [Fact]
    public void The_search_key_folds_case_accents_and_spaces()
    {
        Assert.Equal("alvarez-nunez jose maria stu-1", StudentSearch.Key("José  María", "ÁLVAREZ-Núñez", "STU-1"));
        Assert.Equal(["smith", "ann"], StudentSearch.Words(" Smith,Ann  smith "));
        // Letters that are not a base letter plus an accent are transliterated as well.
        Assert.Equal("ore strasse nguyen", StudentSearch.Fold("Øre Straße\tNguyễn"));
    }

    private static ServiceFactory<Program> NewService(string provider) => new() { ConnectionString = TestPostgres.ConnectionStringFor(provider) };

    private static async Task SeedAsync(ServiceFactory<Program> service)
    {
        await service.WaitUntilReadyAsync();
        using var admin = service.CreateClient();
        using var response = await admin.PostAsJsonAsync("/api/ingestion/v1/roster", new
        {
            schools = new[] { new { schoolId = School, name = "North" }, new { schoolId = Other, name = "South" } },
            staff = Array.Empty<object>(),
            students = new[]
            {
                new { studentId = "srch-1", schoolId = School, givenName = "José", familyName = "Álvarez", gradeLevel = "9" },
                new { studentId = "srch-2", schoolId = School, givenName = "Ann", familyName = "Smith", gradeLevel = "10" },
                new { studentId = "srch-3", schoolId = School, givenName = "Anna", familyName = "Smithers", gradeLevel = "11" },
                new { studentId = "srch-4", schoolId = School, givenName = "Bob", familyName = "O'Neil", gradeLevel = "12" },
                new { studentId = "srch-10", schoolId = School, givenName = "Zed", familyName = "Zulu", gradeLevel = "9" },
                new { studentId = "srch-5", schoolId = Other, givenName = "Ann", familyName = "Smith", gradeLevel = "9" },
            },
        });
        response.EnsureSuccessStatusCode();
        await service.WithDbAsync<IngestionDbContext, int>(db =>
        {
            db.StudentIdentifiers.AddRange(
                new StudentIdentifier { Kind = IdentifierKinds.Identifier, Value = "STATE-0042", StudentId = "srch-4", Source = "test" },
                new StudentIdentifier { Kind = IdentifierKinds.Email, Value = "bob.oneil@example.edu", StudentId = "srch-4", Source = "test" },
                new StudentIdentifier { Kind = IdentifierKinds.MboxSha1Sum, Value = "0a1b2c3d4e", StudentId = "srch-4", Source = "test" });
            return db.SaveChangesAsync();
        });
    }

    private static async Task<string[]> IdsAsync(HttpClient client, string q, string more = "")
    {
        var found = await client.GetFromJsonAsync<JsonElement>($"/api/ingestion/v1/students?q={Uri.EscapeDataString(q)}{more}");
        return found.GetProperty("students").EnumerateArray().Select(s => s.GetProperty("studentId").GetString()!).ToArray();
    }
}
