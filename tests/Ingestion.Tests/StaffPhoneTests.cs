using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.Ingestion.Storage;
using Beacon.Messaging;
using Beacon.Testing;
using Microsoft.EntityFrameworkCore;

namespace Beacon.Ingestion.Tests;

/// <summary>
/// Staff mobile numbers for SMS: OneRoster users.csv sms (else phone) and the JSON roster's phone, kept in E.164, sent on
/// in StaffAssigned and the roster's counselor answer; a number that is not one is a row error that leaves the rest of the
/// row stored.
/// </summary>
public sealed class StaffPhoneTests(ServiceFactory<Program> service) : IClassFixture<ServiceFactory<Program>>
{
    private Task<string?> PhoneAsync(string staffId) =>
        service.WithDbAsync<IngestionDbContext, string?>(db => db.Staff.Where(s => s.StaffId == staffId).Select(s => s.Phone).SingleAsync());

    [Fact]
    public async Task Users_csv_sms_then_phone_become_e164_and_a_bad_number_is_a_row_error_with_the_row_kept()
    {
        const string School = "ph-hs";
        var form = new MultipartFormDataContent
        {
            { new StringContent($"sourcedId,status,dateLastModified,name,type\n{School},active,2026-08-01,Phone High,school\n", Encoding.UTF8, "text/csv"), "files", "orgs.csv" },
            {
                new StringContent("sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,givenName,familyName,email,sms,phone\n"
                    + $"ph-c1,active,2026-08-01,true,{School},counselor,c1,Rosa,Lee,rosa@school.test,\"+1 (555) 010-3000\",+1 555 010 3999\n"
                    + $"ph-c2,active,2026-08-01,true,{School},counselor,c2,Sam,Hill,sam@school.test,,+44 20 7946-0958\n"
                    + $"ph-c3,active,2026-08-01,true,{School},counselor,c3,Kim,Ode,kim@school.test,555-0199,\n", Encoding.UTF8, "text/csv"),
                "files", "users.csv"
            },
        };
        using var response = await service.CreateClient().PostAsync("/api/ingestion/v1/oneroster", form);

        // The import report names the row and the field; the row is not rejected, only its number left out.
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await IngestionApi.ProblemAsync(response);
        Assert.Equal(["users.csv:lines[4].phone"], IngestionApi.ErrorKeys(problem));
        Assert.Contains("'555-0199' is not a phone number in E.164 form", problem.GetProperty("errors").GetProperty("users.csv:lines[4].phone")[0].GetString());
        Assert.Equal(0, problem.GetProperty("rejected").GetInt32());
        Assert.Contains("1 of them without a field that was wrong", problem.GetProperty("title").GetString());
        var kept = await service.WithDbAsync<IngestionDbContext, Domain.StaffMember>(db => db.Staff.AsNoTracking().SingleAsync(s => s.StaffId == "ph-c3"));
        Assert.Equal(("Kim", "Ode", "kim@school.test", "counselor", School, (string?)null), (kept.GivenName, kept.FamilyName, kept.Email, kept.Role, kept.SchoolId, kept.Phone));

        Assert.Equal("+15550103000", await PhoneAsync("ph-c1"));   // sms wins over phone; spaces, dashes, parentheses dropped
        Assert.Equal("+442079460958", await PhoneAsync("ph-c2"));  // phone when there is no sms

        // Downstream: the roster's counselor answer (gRPC, here as JSON) and StaffAssigned carry the number.
        var counselors = await new IngestionApi(service.CreateClient()).GetJsonAsync($"/api/ingestion/v1/schools/{School}/counselors");
        var phones = counselors.GetProperty("counselors").EnumerateArray()
            .ToDictionary(c => c.GetProperty("staffId").GetString()!, c => c.TryGetProperty("phone", out var p) ? p.GetString() : null);
        Assert.Equal("+15550103000", phones["ph-c1"]);
        Assert.True(string.IsNullOrEmpty(phones["ph-c3"]), phones["ph-c3"]);   // none stored: empty (proto3's default)
        var assigned = await service.WithDbAsync<IngestionDbContext, string>(db => db.Set<OutboxMessage>()
            .Where(m => m.MessageType.Contains(nameof(StaffAssigned)) && m.Body.Contains("ph-c2")).Select(m => m.Body).SingleAsync());
        Assert.Equal("+442079460958", JsonDocument.Parse(assigned).RootElement.GetProperty("Phone").GetString());
    }

    [Fact]
    public async Task The_json_roster_takes_a_phone_and_a_bad_one_keeps_the_number_stored_before()
    {
        object Roster(string phone) => new
        {
            schools = new[] { new { schoolId = "ph-ms", name = "Phone Middle" } },
            staff = new[] { new { staffId = "ph-ms-c1", schoolId = "ph-ms", role = "counselor", givenName = "Ada", familyName = "One", email = "ada@school.test", phone } },
        };
        using (var good = await service.CreateClient().PostAsJsonAsync("/api/ingestion/v1/roster", Roster("+33 6 12 34 56 78")))
        {
            Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        }
        Assert.Equal("+33612345678", await PhoneAsync("ph-ms-c1"));

        using var bad = await service.CreateClient().PostAsJsonAsync("/api/ingestion/v1/roster", Roster("call the office"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var problem = await IngestionApi.ProblemAsync(bad);
        Assert.Equal(["staff[0].phone"], IngestionApi.ErrorKeys(problem));
        Assert.Equal((0, 2), (problem.GetProperty("rejected").GetInt32(), problem.GetProperty("unchanged").GetInt32()));   // the school and the staff row: nothing else changed
        Assert.Equal("+33612345678", await PhoneAsync("ph-ms-c1"));   // a typo does not erase a good number
    }
}
