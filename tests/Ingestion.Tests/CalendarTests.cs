using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Beacon.Ingestion.Storage;
using Beacon.Messaging;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Tests;

/// <summary>School calendars in (JSON, CSV, OneRoster academic sessions): every line checked, each changed year published whole.</summary>
public sealed class CalendarTests(ServiceFactory<Program> service) : IClassFixture<ServiceFactory<Program>>
{
    private readonly IngestionApi _api = new(service.CreateClient());

    private Task<T> Db<T>(Func<IngestionDbContext, Task<T>> read) => service.WithDbAsync(read);

    /// <summary>The calendar events published for a school year (their bodies, oldest first).</summary>
    private Task<List<string>> EventsAsync(string year) => Db(db => db.Set<OutboxMessage>()
        .Where(m => m.MessageType.Contains("SchoolCalendarRecorded") && m.Body.Contains($"\"SchoolYear\":\"{year}\"")).OrderBy(m => m.Sequence).Select(m => m.Body).ToListAsync());

    [Fact]
    public async Task A_json_calendar_is_checked_line_by_line_and_each_changed_year_is_published_once()
    {
        var school = $"sch-{Guid.NewGuid():N}"[..12];
        using (var roster = await _api.PostAsync("/api/ingestion/v1/roster", IngestionApi.Roster(school, $"{school}-s1")))
        {
            Assert.Equal(HttpStatusCode.OK, roster.StatusCode);
        }
        var year = $"{school}-y";
        object[] entries =
        [
            // A break listed before its year: the year is applied first.
            new { schoolYear = year, type = "non-instructional", startDate = "2030-12-23", endDate = "2031-01-03", description = "Winter break" },
            new { schoolYear = year, type = "school-year", startDate = "2030-09-02", endDate = "2031-06-13" },
            new { schoolYear = year, schoolId = school, type = "non-instructional", startDate = "2030-10-14", description = "Teacher day" },
            new { schoolYear = year, type = "non-instructional", startDate = "2031-07-04" },                         // [3] outside the year
            new { schoolYear = $"{school}-none", type = "non-instructional", startDate = "2030-10-01" },             // [4] year unknown
            new { schoolYear = $"{school}-z", type = "school-year", startDate = "2031-06-01", endDate = "2032-07-01" }, // [5] too long
            new { schoolYear = year, schoolId = "nowhere", type = "non-instructional", startDate = "2030-10-15" },  // [6] unknown school
            new { schoolYear = year, type = "holiday", startDate = "2030-10-15", endDate = "2030-10-14" },           // [7] bad type, end before start
            new { schoolYear = year, type = "non-instructional", startDate = "2030-12-23" },                         // [8] duplicates [0]
        ];
        using var response = await _api.PostAsync("/api/ingestion/v1/calendars", new { entries });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(
        [
            "entries[3].startDate", "entries[4].schoolYear", "entries[5].endDate", "entries[6].schoolId", "entries[7].endDate", "entries[7].type", "entries[8].startDate",
        ], IngestionApi.ErrorKeys(await IngestionApi.ProblemAsync(response)));
        var district = Assert.Single(await EventsAsync(year), e => e.Contains("\"SchoolId\":null"));
        Assert.Contains("\"FirstDay\":\"2030-09-02\",\"LastDay\":\"2031-06-13\"", district);
        Assert.Contains("\"From\":\"2030-12-23\",\"To\":\"2031-01-03\",\"Description\":\"Winter break\"", district);
        var own = Assert.Single(await EventsAsync(year), e => e.Contains($"\"SchoolId\":\"{school}\""));
        Assert.Contains("\"FirstDay\":null", own);   // the school keeps the district's first and last day
        Assert.Contains("\"From\":\"2030-10-14\",\"To\":\"2030-10-14\"", own);

        // The overlap is checked against stored years too; a valid year after it is accepted.
        using (var overlap = await _api.PostAsync("/api/ingestion/v1/calendars", new { entries = new[] { new { schoolYear = $"{school}-z", type = "school-year", startDate = "2031-06-01", endDate = "2031-12-01" } } }))
        {
            Assert.Equal(["entries[0].startDate"], IngestionApi.ErrorKeys(await IngestionApi.ProblemAsync(overlap)));
        }

        // The same lines again change nothing and publish nothing; a moved last day is a correction, published again.
        using (var again = await _api.PostAsync("/api/ingestion/v1/calendars", new { entries = entries[..3] }))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
            Assert.Contains("\"unchanged\":3", await again.Content.ReadAsStringAsync());
        }
        Assert.Equal(2, (await EventsAsync(year)).Count);
        using (var moved = await _api.PostAsync("/api/ingestion/v1/calendars", new { entries = new[] { new { schoolYear = year, type = "school-year", startDate = "2030-09-02", endDate = "2031-06-20" } } }))
        {
            Assert.Contains("\"corrected\":1", await moved.Content.ReadAsStringAsync());
        }
        var events = await EventsAsync(year);
        Assert.Equal(3, events.Count);
        Assert.Contains("\"LastDay\":\"2031-06-20\"", events[^1]);
        Assert.Contains("Winter break", events[^1]);   // the whole year, breaks included
    }

    [Fact]
    public async Task A_csv_calendar_and_a_oneroster_school_year_become_calendar_years()
    {
        var year = $"csv-{Guid.NewGuid():N}"[..12];
        var csv = $"schoolYear,schoolId,type,startDate,endDate,description\n{year},,school-year,2040-08-27,2041-06-07,\n{year},,non-instructional,2040-11-22,,Thanksgiving\n{year},,non-instructional,2040-13-01,,\n";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/ingestion/v1/calendars") { Content = new StringContent(csv, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        using var response = await service.CreateClient().SendAsync(request);
        Assert.Equal(["lines[4].startDate"], IngestionApi.ErrorKeys(await IngestionApi.ProblemAsync(response)));
        Assert.Contains("Thanksgiving", Assert.Single(await EventsAsync(year)));
        Assert.Equal(1, await Db(db => db.Quarantine.CountAsync(q => q.Kind == "calendar" && q.Raw.Contains("2040-13-01"))));

        var label = $"or-{Guid.NewGuid():N}"[..10];
        var form = new MultipartFormDataContent
        {
            { new StringContent($"sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n{label}-y,active,,Year,schoolYear,2050-08-20,2051-06-10,,{label}\n{label}-t,active,,Fall,term,2050-08-20,2050-12-20,{label}-y,{label}\n"), "files", "academicSessions.csv" },
        };
        using var oneRoster = await service.CreateClient().PostAsync("/api/ingestion/v1/oneroster", form);
        Assert.True(oneRoster.IsSuccessStatusCode, await oneRoster.Content.ReadAsStringAsync());
        var published = Assert.Single(await EventsAsync(label));   // the school year only, not the term
        Assert.Contains("\"FirstDay\":\"2050-08-20\",\"LastDay\":\"2051-06-10\"", published);
    }
}
