using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.Ingestion.Storage;
using Beacon.Messaging;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Tests;

/// <summary>OneRoster 1.2 CSV files (our own sample under Fixtures/oneroster) into the roster.</summary>
public sealed class OneRosterTests(ServiceFactory<Program> service) : IClassFixture<ServiceFactory<Program>>
{
    private static MultipartFormDataContent Upload(params string[] files)
    {
        var form = new MultipartFormDataContent();
        foreach (var file in files)
        {
            var content = new ByteArrayContent(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "oneroster", file)));
            content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
            form.Add(content, "files", file);
        }
        return form;
    }

    [Fact]
    public async Task A_oneroster_upload_fills_the_roster_and_names_each_bad_line()
    {
        using var response = await service.CreateClient().PostAsync("/api/ingestion/v1/oneroster",
            Upload("orgs.csv", "users.csv", "classes.csv", "enrollments.csv", "demographics.csv"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await IngestionApi.ProblemAsync(response);
        Assert.Equal(
        [
            "classes.csv:lines[3].schoolSourcedId",      // a class in an unknown school
            "demographics.csv:lines[4].sourcedId",       // demographics for an unknown user
            "enrollments.csv:lines[5].classSourcedId",   // enrollment in the rejected class
            "users.csv:lines[7].schoolId",               // a student whose org is unknown
        ], IngestionApi.ErrorKeys(problem));

        var counselors = await new IngestionApi(service.CreateClient()).GetJsonAsync("/api/ingestion/v1/schools/or-hs/counselors");
        Assert.Equal("or-c1", counselors.GetProperty("counselors")[0].GetProperty("staffId").GetString());
        var (schools, students, sections, members, demo) = await service.WithDbAsync<IngestionDbContext, (int, int, int, int, Domain.StudentDemographics?)>(async db => (
            await db.Schools.CountAsync(s => s.SchoolId.StartsWith("or-")),
            await db.Students.CountAsync(s => s.StudentId.StartsWith("or-")),
            await db.Sections.CountAsync(s => s.SectionId == "cl-alg1"),
            await db.SectionEnrollments.CountAsync(e => e.SectionId == "cl-alg1"),
            await db.Demographics.FindAsync("or-s1")));
        Assert.Equal(2, schools);     // the district row is skipped, not a school
        Assert.Equal(3, students);    // or-s1 (high), or-s2 (middle), or-s4 (no org: school from its enrollment); or-s3 rejected
        Assert.Equal(1, sections);
        Assert.Equal(3, members);     // or-s1, or-s4 and the teacher; the enrollment in the rejected class is not kept
        Assert.Equal(("female", "asian", true, false), (demo!.Sex, demo.RaceEthnicity, demo.EconomicallyDisadvantaged, demo.EnglishLearner));

        // The section goes downstream whole (Mastery and Interventions show teachers their sections); the rejected class does not.
        var rosters = await service.WithDbAsync<IngestionDbContext, List<string>>(db => db.Set<OutboxMessage>()
            .Where(m => m.MessageType.Contains(nameof(SectionRosterRecorded))).OrderBy(m => m.Sequence).Select(m => m.Body).ToListAsync());
        Assert.DoesNotContain(rosters, r => r.Contains("cl-ghost", StringComparison.Ordinal));
        var roster = JsonDocument.Parse(rosters.First(r => r.Contains("cl-alg1", StringComparison.Ordinal))).RootElement;
        Assert.Equal("cl-alg1", roster.GetProperty("SectionId").GetString());
        Assert.Equal("or-hs", roster.GetProperty("SchoolId").GetString());
        Assert.Equal(["or-t1"], roster.GetProperty("TeacherIds").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(["or-s1", "or-s4"], roster.GetProperty("StudentIds").EnumerateArray().Select(t => t.GetString()));
        Assert.False(roster.GetProperty("Ended").GetBoolean());
    }

    [Fact]
    public async Task An_unknown_file_or_a_plain_body_is_refused_whole()
    {
        var form = new MultipartFormDataContent { { new StringContent("a,b\n1,2\n"), "files", "grades.csv" } };
        using var unknown = await service.CreateClient().PostAsync("/api/ingestion/v1/oneroster", form);
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        using var plain = await service.CreateClient().PostAsync("/api/ingestion/v1/oneroster", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.BadRequest, plain.StatusCode);
    }
}
