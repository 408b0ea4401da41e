using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.EarlyWarning.Storage;
using Beacon.Testing;
using MassTransit;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Parquet;
using Parquet.Schema;
using static Beacon.EarlyWarning.Tests.ResearchDistrict;

namespace Beacon.EarlyWarning.Tests;

/// <summary>
/// The analyst profile and the research extract on a small district (<see cref="ResearchDistrict"/>): administrators only;
/// the profile's columns against known inputs, in CSV and Parquet; the extract keeps no direct identifier, gives one
/// student one pseudonym per key, keeps each student's date intervals, and passes a re-identification check (no combination
/// of the quasi-identifier columns has fewer than k rows); each extract is audited without the key; no key, no extract.
/// </summary>
public abstract class ResearchExtractTestsBase<TDistrict>(TDistrict district) : IClassFixture<TDistrict>, IAsyncLifetime
    where TDistrict : ResearchDistrict
{
    private const string Profiles = "/api/early-warning/v1/research/profiles", Extracts = "/api/early-warning/v1/research/extracts";
    private static readonly string[] Quasi = ["school_id", "grade_level", "sex", "race_ethnicity", "economically_disadvantaged", "english_learner", "disability"];

    public Task InitializeAsync() => district.SeedAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task The_district_is_on_the_database_it_says()
    {
        var provider = await district.WithDbAsync<EarlyWarningDbContext, string?>(db => Task.FromResult(db.Database.ProviderName));
        Assert.Equal(district.OnPostgres ? "Npgsql.EntityFrameworkCore.PostgreSQL" : "Microsoft.EntityFrameworkCore.Sqlite", provider);
    }

    public static TheoryData<string, string, string, int> Rules => new()
    {
        { "GET", $"{Profiles}?schoolYear={Year}", "none", 401 },
        { "GET", $"{Profiles}?schoolYear={Year}", "counselor", 403 },
        { "GET", $"{Profiles}?schoolYear={Year}", "coordinator", 403 },
        { "GET", $"{Profiles}?schoolYear={Year}", "ops", 403 },
        { "GET", $"{Profiles}?schoolYear={Year}", "feed", 403 },
        { "POST", Extracts, "counselor", 403 },
        { "POST", Extracts, "ops", 403 },
        { "GET", Extracts, "ops", 403 },
        { "GET", Extracts, "coordinator", 403 },
        { "GET", Extracts, "admin", 200 },
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public async Task Only_administrators_reach_the_profile_and_the_extracts(string method, string path, string who, int expected)
    {
        using var client = district.CreateClientAs(Callers.Token(who));
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST")
        {
            request.Content = JsonContent.Create(new { schoolYear = Year, k = 3, purpose = "study", recipient = "uni", format = "csv" });
        }
        using var response = await client.SendAsync(request);
        Assert.Equal(expected, (int)response.StatusCode);
    }

    [Fact]
    public async Task The_profile_joins_every_signal_of_the_year_per_student()
    {
        var rows = Csv(await district.CreateClient().GetStringAsync($"{Profiles}?schoolYear={Year}&format=csv")).ToDictionary(r => r["student_id"]);
        Assert.Equal(Everyone.Order(StringComparer.Ordinal), rows.Keys.Order(StringComparer.Ordinal));   // not the student of the year before only
        var ada = rows[Ada];
        var expected = new Dictionary<string, string>
        {
            ["given_name"] = "Ada",
            ["family_name"] = "Lovelace",
            ["school_year"] = Year,
            ["school_id"] = "north",
            ["grade_level"] = "09",
            ["sex"] = "F",
            ["race_ethnicity"] = "white",
            ["economically_disadvantaged"] = "true",
            ["english_learner"] = "false",
            ["disability"] = "",
            ["days_enrolled"] = "39",
            ["days_absent"] = "4",
            ["attendance_rate"] = "0.8974",
            ["first_attendance_date"] = "2024-09-02",
            ["last_attendance_date"] = "2024-10-25",
            ["courses_graded"] = "2",
            ["mark_mean"] = "67.5",
            ["course_failures"] = "1",
            ["incidents"] = "2",
            ["major_incidents"] = "1",
            ["last_incident_date"] = "2024-10-03",
            ["lms_statements"] = "3",
            ["lms_active_days"] = "2",
            ["lms_minutes"] = "17",
            ["last_lms_date"] = "2024-09-12",
            ["skills_attempted"] = "2",
            ["skills_mastered"] = "1",
            ["dropout_score"] = "0.35",
            ["dropout_band"] = "high",
            ["dropout_flagged"] = "true",
            ["dropout_score_week"] = "2024-10-21",
            ["chronic_absence_score"] = "0.1",
            ["chronic_absence_band"] = "low",
            ["chronic_absence_flagged"] = "false",
            ["chronic_absence_outcome"] = "chronically-absent",
            ["dropout_outcome"] = "finished-year",
            ["exit_code"] = "",
            ["exit_date"] = "",
        };
        Assert.Equal(expected, expected.Keys.ToDictionary(k => k, k => ada[k]));
        // The leaver's days are counted to the day they left.
        var leaver = rows[Leaver];
        Assert.Equal(("29", "0", "1", "dropped-out", "2024-10-10", "south", "11"),
            (leaver["days_enrolled"], leaver["days_absent"], leaver["attendance_rate"], leaver["exit_code"], leaver["exit_date"], leaver["school_id"], leaver["grade_level"]));

        using var unknown = await district.CreateClient().GetAsync($"{Profiles}?schoolYear=1999-2000&format=xlsx");
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        var problem = await unknown.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains(Year, problem.GetProperty("errors").GetProperty("schoolYear")[0].GetString());
        Assert.True(problem.GetProperty("errors").TryGetProperty("format", out _));
    }

    [Fact]
    public async Task The_profile_in_parquet_reads_back_with_the_same_students_and_figures()
    {
        var bytes = await district.CreateClient().GetByteArrayAsync($"{Profiles}?schoolYear={Year}&format=parquet");
        var columns = await ReadParquetAsync(bytes, "student_id", "days_enrolled", "first_attendance_date");
        Assert.Equal(Everyone.Order(StringComparer.Ordinal), columns["student_id"].Cast<string>().Order(StringComparer.Ordinal));
        var ada = columns["student_id"].IndexOf(Ada);
        Assert.Equal(39, columns["days_enrolled"][ada]);
        Assert.Equal(new DateOnly(2024, 9, 2), columns["first_attendance_date"][ada]);
    }

    [Fact]
    public async Task An_extract_keeps_no_identifier_shifts_dates_as_a_block_and_passes_the_reidentification_check()
    {
        const int k = 3;
        var (files, manifest) = await ExtractAsync(district.CreateClient(), k, "csv");
        Assert.Equal(["DATA-USE.md", "extract.csv", "manifest.json"], files.Keys.Order(StringComparer.Ordinal));
        var everything = string.Concat(files.Values.Select(Text));
        foreach (var secret in Everyone.Concat(["Lovelace", "Ada,", "Bartholomew", "Quincey", "Given01", "Family01", Lone, Key]))
        {
            Assert.DoesNotContain(secret, everything);
        }
        var rows = Csv(Text(files["extract.csv"]));
        Assert.Equal(rows.Select(r => r["pseudonym"]).Order(StringComparer.Ordinal), rows.Select(r => r["pseudonym"]));   // not in the ids' order
        Assert.DoesNotContain("student_id", rows[0].Keys);
        Assert.DoesNotContain("given_name", rows[0].Keys);
        Assert.Equal(rows.Count, manifest.GetProperty("rows").GetInt32());
        Assert.Equal(Everyone.Count(), rows.Count + manifest.GetProperty("suppressed").GetInt32());
        Assert.True(rows.Count >= Everyone.Count() * 0.9, $"{rows.Count} rows released");

        // The re-identification check: every combination of the quasi-identifiers is shared by at least k released rows.
        var classes = rows.GroupBy(r => string.Join("|", Quasi.Select(q => r[q]))).ToList();
        Assert.All(classes, c => Assert.True(c.Count() >= k, $"{c.Key}: {c.Count()} rows"));
        Assert.Equal(classes.Min(c => c.Count()), manifest.GetProperty("smallestClass").GetInt32());
        Assert.NotEmpty(manifest.GetProperty("generalizations").EnumerateArray());

        // Pseudonyms are HMAC-SHA256(key, "student:" + id); each student's dates move together, so intervals are kept.
        var profile = Csv(await district.CreateClient().GetStringAsync($"{Profiles}?schoolYear={Year}")).ToDictionary(r => Hmac(Key, r["student_id"]));
        var offsets = new List<int>();
        foreach (var row in rows)
        {
            var original = profile[row["pseudonym"]];
            var shifts = new[] { "first_attendance_date", "last_attendance_date", "last_incident_date", "exit_date", "dropout_score_week" }
                .Where(c => original[c] != "").Select(c => DateOnly.Parse(row[c]).DayNumber - DateOnly.Parse(original[c]).DayNumber).Distinct().ToList();
            Assert.Single(shifts);
            Assert.InRange(shifts[0], -60, 60);
            offsets.Add(shifts[0]);
            Assert.Equal(original["days_enrolled"], row["days_enrolled"]);
            // Small counts are a range, never the count itself.
            Assert.DoesNotContain(row["incidents"], new[] { "1", "2" });
            Assert.Equal(original["incidents"] is "1" or "2" ? "1-2" : original["incidents"], row["incidents"]);
        }
        Assert.True(offsets.Distinct().Count() > 5, "the offsets differ between students");
        Assert.Contains("k = 3", Text(files["DATA-USE.md"]));
    }

    [Fact]
    public async Task One_key_gives_a_student_the_same_pseudonym_another_key_another_and_parquet_reads_back_the_same()
    {
        var (first, firstManifest) = await ExtractAsync(district.CreateClient(), 3, "csv");
        var (again, _) = await ExtractAsync(district.CreateClient(), 3, "parquet");
        var pseudonyms = Csv(Text(first["extract.csv"])).Select(r => r["pseudonym"]).Order(StringComparer.Ordinal).ToList();
        var parquet = await ReadParquetAsync(again["extract.parquet"], "pseudonym", "days_enrolled");
        Assert.Equal(pseudonyms, parquet["pseudonym"].Cast<string>().Order(StringComparer.Ordinal));

        await using var other = district.WithWebHostBuilder(b => b.UseSetting("Research:PseudonymKey", OtherKey));
        var (elsewhere, otherManifest) = await ExtractAsync(other.CreateClient().WithToken(TestTokens.Administrator), 3, "csv");
        var otherPseudonyms = Csv(Text(elsewhere["extract.csv"])).Select(r => r["pseudonym"]).ToList();
        Assert.Equal(pseudonyms.Count, otherPseudonyms.Count);
        Assert.Empty(pseudonyms.Intersect(otherPseudonyms));
        Assert.Subset(Everyone.Select(id => Hmac(OtherKey, id)).ToHashSet(), otherPseudonyms.ToHashSet());
        Assert.NotEqual(firstManifest.GetProperty("keyFingerprint").GetString(), otherManifest.GetProperty("keyFingerprint").GetString());
    }

    [Fact]
    public async Task Each_extract_leaves_an_audit_record_without_the_key()
    {
        var (_, manifest) = await ExtractAsync(district.CreateClient(), 4, "csv", purpose: "Attendance and course failure, grades 9-12", recipient: "State University");
        var listing = await district.CreateClient().GetStringAsync(Extracts);
        Assert.DoesNotContain(Key, listing);
        var record = JsonDocument.Parse(listing).RootElement.EnumerateArray().Single(e => e.GetProperty("extractId").GetString() == manifest.GetProperty("extractId").GetString());
        Assert.Equal(("test-admin", "Attendance and course failure, grades 9-12", "State University", 4, Year),
            (record.GetProperty("requestedBy").GetString(), record.GetProperty("purpose").GetString(), record.GetProperty("recipient").GetString(),
                record.GetProperty("k").GetInt32(), record.GetProperty("schoolYear").GetString()));
        Assert.Equal(manifest.GetProperty("rows").GetInt32(), record.GetProperty("rows").GetInt32());
        Assert.Equal(manifest.GetProperty("suppressed").GetInt32(), record.GetProperty("suppressed").GetInt32());
        Assert.Equal(manifest.GetProperty("keyFingerprint").GetString(), record.GetProperty("keyFingerprint").GetString());
        Assert.Equal(manifest.GetProperty("generalizations").GetArrayLength(), record.GetProperty("generalizations").GetArrayLength());
        Assert.StartsWith("hmac-sha256:", record.GetProperty("keyFingerprint").GetString());
    }

    [Fact]
    public async Task Without_a_key_nothing_is_extracted_and_bad_requests_say_which_field()
    {
        var before = (await district.CreateClient().GetFromJsonAsync<JsonElement>(Extracts)).GetArrayLength();
        foreach (var key in new[] { "", "short-key" })
        {
            await using var keyless = district.WithWebHostBuilder(b => b.UseSetting("Research:PseudonymKey", key));
            using var refused = await keyless.CreateClient().WithToken(TestTokens.Administrator).PostAsJsonAsync(Extracts, Body(3, "csv"));
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Contains("Research:PseudonymKey", await refused.Content.ReadAsStringAsync());
        }
        using var bad = await district.CreateClient().PostAsJsonAsync(Extracts, new { schoolYear = "1999-2000", k = 1, purpose = "", format = "xlsx" });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var errors = (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.Equal(["format", "k", "purpose", "recipient", "schoolYear"], errors.EnumerateObject().Select(e => e.Name).Order(StringComparer.Ordinal));
        using var tooFew = await district.CreateClient().PostAsJsonAsync(Extracts, Body(500, "csv"));
        Assert.Equal(HttpStatusCode.Conflict, tooFew.StatusCode);
        Assert.Equal(before, (await district.CreateClient().GetFromJsonAsync<JsonElement>(Extracts)).GetArrayLength());
    }

    [Fact]
    public async Task The_roster_enrolment_reaches_the_projection_and_an_older_one_does_not_overwrite_it()
    {
        const string student = "rx-stu-enrolled";
        var bus = district.Services.GetRequiredService<IBus>();
        var now = DateTimeOffset.UtcNow;
        Task<string?> RosterAsync() => district.WithDbAsync<EarlyWarningDbContext, string?>(async db =>
            await db.Roster.AsNoTracking().Where(r => r.StudentId == student).Select(r => r.SchoolId + "/" + r.GivenName + "/" + r.GradeLevel).SingleOrDefaultAsync());
        await bus.Publish(new StudentEnrolled(student, "north", "Grace", "Hopper", "10", now));
        Assert.Equal("north/Grace/10", await Eventually.WaitAsync(RosterAsync, r => r is not null, TimeSpan.FromSeconds(30)));
        await bus.Publish(new StudentEnrolled(student, "south", "Old", "Record", "09", now.AddDays(-1)));
        await Task.Delay(1500);
        Assert.Equal("north/Grace/10", await RosterAsync());
    }

    private static object Body(int k, string format, string purpose = "Dropout study", string recipient = "Partner lab") =>
        new { schoolYear = Year, k, purpose, recipient, format };

    private static async Task<(Dictionary<string, byte[]> Files, JsonElement Manifest)> ExtractAsync(HttpClient client, int k, string format,
        string purpose = "Dropout study", string recipient = "Partner lab")
    {
        using var response = await client.PostAsJsonAsync(Extracts, Body(k, format, purpose, recipient));
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        Assert.Equal("application/zip", response.Content.Headers.ContentType?.MediaType);
        var files = Unzip(await response.Content.ReadAsByteArrayAsync());
        return (files, JsonDocument.Parse(files["manifest.json"]).RootElement.Clone());
    }

    private static string Hmac(string key, string studentId) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes($"student:{studentId}")));

    /// <summary>The named columns of a Parquet file, every row group, read with Parquet.Net.</summary>
    private static async Task<Dictionary<string, List<object?>>> ReadParquetAsync(byte[] bytes, params string[] names)
    {
        await using var reader = await ParquetReader.CreateAsync(new MemoryStream(bytes), new ParquetOptions { UseDateOnlyTypeForDates = true });
        var fields = reader.Schema.GetDataFields().Where(f => names.Contains(f.Name)).ToDictionary(f => f.Name);
        Assert.Equal(names.Length, fields.Count);
        var columns = names.ToDictionary(n => n, _ => new List<object?>());
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var count = (int)group.RowCount;
            foreach (var (name, field) in fields)
            {
                columns[name].AddRange(await ReadColumnAsync(group, field, count));
            }
        }
        return columns;
    }

    private static async Task<IEnumerable<object?>> ReadColumnAsync(ParquetRowGroupReader group, DataField field, int count)
    {
        if (field.ClrType == typeof(int))
        {
            var numbers = new int?[count];
            await group.ReadAsync<int>(field, numbers.AsMemory());
            return numbers.Cast<object?>();
        }
        if (field.ClrType == typeof(DateOnly))
        {
            var dates = new DateOnly?[count];
            await group.ReadAsync<DateOnly>(field, dates.AsMemory());
            return dates.Cast<object?>();
        }
        var text = new string?[count];
        await group.ReadAsync(field, text.AsMemory());
        return text;
    }
}

public sealed class ResearchExtractTests(ResearchDistrict district) : ResearchExtractTestsBase<ResearchDistrict>(district);

/// <summary>The same on PostgreSQL.</summary>
public sealed class PostgresResearchExtractTests(PostgresResearchDistrict district) : ResearchExtractTestsBase<PostgresResearchDistrict>(district);
