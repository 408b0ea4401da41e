using System.Text.Json;
using System.Text.Json.Nodes;
using Beacon.Ingestion.Storage;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;
using static Beacon.Ingestion.Tests.OneRosterRestData;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// Several OneRoster REST providers for one district (one SIS for the high school, another for the elementary schools):
/// each connector pulls its own provider with its own token, job and high-water mark, and both rosters land; two
/// connectors under one name (they would share a mark) stop the service at start, saying why.
/// </summary>
public sealed class OneRosterRestConnectorsTests
{
    private const string ElementaryModified = "2026-09-05T07:30:00.000Z";

    [Fact]
    public async Task Two_providers_are_pulled_each_by_its_own_connector_with_its_own_token_job_and_mark()
    {
        await using var high = await OneRosterRestProvider.StartAsync();
        await using var elementary = await OneRosterRestProvider.StartAsync();
        Load(high);
        elementary.Put("orgs", Org("dist", "Lakeview District", "district", null), Org("es", "Lakeview Elementary", "school", "dist"));
        elementary.Put("users",
            User("e1", "Ada", "Stone", "student", "es", "03", modified: ElementaryModified),
            User("e2", "Ben", "Stone", "student", "es", "05"),
            User("etch", "Cara", "Wu", "teacher", "es"));
        var settings = OneRosterRestTests.ConnectorSettings(high, "OneRosterRest");
        foreach (var (key, value) in OneRosterRestTests.ConnectorSettings(elementary, "OneRosterRest:Connectors:0"))
        {
            settings[key] = value;
        }
        settings["OneRosterRest:Connectors:0:Connector"] = "elementary";
        settings["OneRosterRest:Connectors:0:Source"] = "oneroster-rest-elementary";
        await using var service = new ServiceFactory<Program> { Settings = settings };
        await service.WaitUntilReadyAsync();

        var first = await OneRosterRestTests.PullNowAsync(service, "elementary");
        Assert.True(first.GetProperty("lastOutcome").GetString() == "succeeded", first.ToString());
        Assert.Equal("oneroster-rest-pull-elementary", first.GetProperty("job").GetString());
        Assert.Equal(3, first.GetProperty("fetched").GetProperty("users").GetInt32());
        Assert.Equal(DateTimeOffset.Parse(ElementaryModified), first.GetProperty("highWaterMark").GetDateTimeOffset());
        // The elementary pull did not touch the high school's provider, nor move the default connector's mark.
        Assert.Empty(high.Requests);
        var stillDefault = await service.CreateClient().GetStringAsync("/api/ingestion/v1/oneroster/connector");
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(stillDefault).RootElement.GetProperty("highWaterMark").ValueKind);

        var other = await OneRosterRestTests.PullNowAsync(service);
        Assert.True(other.GetProperty("lastOutcome").GetString() == "succeeded", other.ToString());
        Assert.Equal(DateTimeOffset.Parse(Newest), other.GetProperty("highWaterMark").GetDateTimeOffset());
        Assert.Equal((1, 1), (high.TokensIssued, elementary.TokensIssued));

        // Both rosters landed, each school's students under their school.
        var students = await service.WithDbAsync<IngestionDbContext, Dictionary<string, string>>(db =>
            db.Students.AsNoTracking().ToDictionaryAsync(s => s.StudentId, s => s.SchoolId));
        Assert.Equal(("es", "es", "hs"), (students["e1"], students["e2"], students["s1"]));

        // A change at the elementary provider: its next pull asks only for what changed since its own mark.
        elementary.Put("users", User("e2", "Ben", "Stone-Hall", "student", "es", "05", modified: "2026-09-06T09:00:00.000Z"));
        var second = await OneRosterRestTests.PullNowAsync(service, "elementary");
        Assert.Equal($"dateLastModified>'{ElementaryModified}'", second.GetProperty("lastFilter").GetString());
        Assert.Equal(1, second.GetProperty("fetched").GetProperty("users").GetInt32());
        Assert.Equal(DateTimeOffset.Parse(Newest), (await OneRosterRestTests.PullNowAsync(service)).GetProperty("highWaterMark").GetDateTimeOffset());

        var all = JsonNode.Parse(await service.CreateClient().GetStringAsync("/api/ingestion/v1/oneroster/connectors"))!["connectors"]!.AsArray();
        Assert.Equal(["default", "elementary"], all.Select(c => (string?)c!["connector"]));
        Assert.Equal(["oneroster-rest-pull", "oneroster-rest-pull-elementary"], all.Select(c => (string?)c!["job"]));
        Assert.DoesNotContain(OneRosterRestProvider.ClientSecret, all.ToJsonString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("default", "needs a Connector name of its own")]
    [InlineData("", "needs a Connector name of its own")]
    [InlineData("sis two", "letters, digits")]
    public async Task A_connector_without_a_name_of_its_own_stops_the_service_at_start_saying_why(string name, string expected)
    {
        await using var service = new ServiceFactory<Program>
        {
            Settings =
            {
                ["OneRosterRest:Connectors:0:Connector"] = name,
                ["OneRosterRest:Connectors:0:BaseUrl"] = "http://127.0.0.1:9",
            },
        };
        var failure = await Record.ExceptionAsync(() => service.WaitUntilReadyAsync());
        Assert.NotNull(failure);
        var messages = string.Join(" | ", Chain(failure));
        Assert.Contains(expected, messages, StringComparison.Ordinal);
    }

    private static IEnumerable<string> Chain(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            yield return x.Message;
            if (x is AggregateException a)
            {
                foreach (var inner in a.InnerExceptions)
                {
                    yield return inner.Message;
                }
            }
        }
    }
}
