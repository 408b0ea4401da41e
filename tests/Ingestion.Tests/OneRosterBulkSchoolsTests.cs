using System.Net;
using System.Text.Json;
using Beacon.Ingestion.Storage;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;
using static Beacon.Ingestion.Tests.OneRosterBulkTests;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// A school that a bulk orgs.csv no longer lists: named in the answer and left open by default (a SIS that sends one
/// bundle per school also sends a bulk orgs.csv of one school); closed where OneRoster:BulkOrgsCloseSchools says each
/// bundle is the whole district, for the bundle's own source only, and opened again when a file lists it again.
/// </summary>
public sealed class OneRosterBulkSchoolsTests
{
    private static async Task<JsonElement> PostAsync(ServiceFactory<Program> service, Dictionary<string, string> bundle, string source)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/ingestion/v1/oneroster") { Content = Csvs(bundle) };
        request.Headers.Add("X-Beacon-Source", source);
        using var response = await service.CreateClient().SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>A bulk bundle of one school with one student of its own.</summary>
    private static Dictionary<string, string> SchoolBundle(string run, string school) =>
        Bundle(run, "bulk", school, [AllUsers[1].Replace("{run}-s2", $"{{run}}-{school}-s")], []);

    private static Task<Dictionary<string, DateTimeOffset?>> ClosedAsync(ServiceFactory<Program> service, string run) =>
        service.WithDbAsync<IngestionDbContext, Dictionary<string, DateTimeOffset?>>(db =>
            db.Schools.AsNoTracking().Where(s => s.SchoolId.StartsWith(run)).ToDictionaryAsync(s => s.SchoolId[(run.Length + 1)..], s => s.ClosedAt));

    [Fact]
    public async Task By_default_a_school_a_bulk_orgs_file_no_longer_lists_is_named_in_the_answer_and_stays_open()
    {
        await using var service = new ServiceFactory<Program>();
        await service.WaitUntilReadyAsync();
        var run = $"bo{Guid.NewGuid():N}"[..10];
        await PostAsync(service, SchoolBundle(run, "a"), "sis-one");
        var answer = await PostAsync(service, SchoolBundle(run, "b"), "sis-one");

        var ended = answer.GetProperty("endedByBulk");
        Assert.Equal(0, ended.GetProperty("schools").GetInt32());
        Assert.Equal([$"{run}-a"], ended.GetProperty("schoolsNotListed").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal([null, null], (await ClosedAsync(service, run)).Values);
    }

    [Fact]
    public async Task With_whole_district_bundles_a_school_no_longer_listed_is_closed_for_its_own_source_and_opens_again_when_listed()
    {
        await using var service = new ServiceFactory<Program> { Settings = { ["OneRoster:BulkOrgsCloseSchools"] = "true" } };
        await service.WaitUntilReadyAsync();
        var run = $"bc{Guid.NewGuid():N}"[..10];
        // Two schools from one SIS, and one from another system.
        var both = SchoolBundle(run, "a");
        both["orgs.csv"] += $"\n{run}-b,active,2026-08-01,School b,school,b,";
        await PostAsync(service, both, "sis-one");
        await PostAsync(service, SchoolBundle(run, "z"), "sis-two");

        // The next night's whole-district export of sis-one lists school a only: b closed; z, another system's, open.
        var next = await PostAsync(service, SchoolBundle(run, "a"), "sis-one");
        Assert.Equal(1, next.GetProperty("endedByBulk").GetProperty("schools").GetInt32());
        Assert.False(next.GetProperty("endedByBulk").TryGetProperty("schoolsNotListed", out var listed) && listed.ValueKind != JsonValueKind.Null);
        var closed = await ClosedAsync(service, run);
        Assert.NotNull(closed["b"]);
        Assert.Null(closed["a"]);
        Assert.Null(closed["z"]);

        // The same export again closes nothing more; a file that lists b again opens it.
        Assert.Equal(0, (await PostAsync(service, SchoolBundle(run, "a"), "sis-one")).GetProperty("endedByBulk").GetProperty("schools").GetInt32());
        await PostAsync(service, both, "sis-one");
        Assert.Null((await ClosedAsync(service, run))["b"]);
    }
}
