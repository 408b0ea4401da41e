extern alias Ingestion;

using System.Net;
using System.Net.Http.Json;
using System.Text;
using Beacon.Contracts.Events;
using Beacon.Notifications.Domain;
using Beacon.Notifications.Storage;
using Beacon.Testing;
using Dapr.Client.Autogen.Grpc.v1;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using IngestionProgram = Ingestion::Program;

namespace Beacon.Notifications.Tests;

/// <summary>
/// SMS through the Dapr Twilio binding: the real Dapr client against an in-test implementation of the runtime's gRPC API
/// (<see cref="FakeDaprSidecar"/>), a real Ingestion whose OneRoster import and roster answer carry the counselor's
/// number, and the real dispatcher's dedupe, retries and dead letters.
/// </summary>
public sealed class DaprSmsTests : IAsyncLifetime
{
    private const string Binding = "school-sms";
    private const string Dashboard = "https://beacon.district.test";
    private readonly ServiceFactory<IngestionProgram> _ingestion = new();
    private FakeDaprSidecar _sidecar = null!;
    private ServiceFactory<Program> _notifications = null!;

    public async Task InitializeAsync()
    {
        _sidecar = await FakeDaprSidecar.StartAsync();
        _notifications = new ServiceFactory<Program>
        {
            BusScope = _ingestion.BusScope,
            ClientHandlers = { ["RosterClient"] = () => _ingestion.Server.CreateHandler() },
            Settings =
            {
                ["Notifications:SmsTransport"] = "dapr",
                ["Notifications:Dapr:GrpcEndpoint"] = _sidecar.Endpoint,
                ["Notifications:Dapr:SmsBinding"] = Binding,
                ["Notifications:DashboardUrl"] = Dashboard,
                ["Notifications:PollInterval"] = "00:00:00.200",
                ["Notifications:RetryDelay"] = "00:00:00.200",
                ["Notifications:MaxAttempts"] = "3",
            },
        };
        await _ingestion.WaitUntilReadyAsync();
        await _notifications.WaitUntilReadyAsync();
    }

    public async Task DisposeAsync()
    {
        await _notifications.DisposeAsync();
        await _ingestion.DisposeAsync();
        await _sidecar.DisposeAsync();
    }

    /// <summary>A number of this test's own (the class's tests share the sidecar): E.164, and as a roster writes it.</summary>
    private static (string E164, string Written) NewNumber()
    {
        var n = Random.Shared.Next(0, 10_000_000);
        return ($"+1555{n:0000000}", $"+1 (555) {n / 10_000:000}-{n % 10_000:0000}");
    }

    private static List<InvokeBindingRequest> To(IEnumerable<InvokeBindingRequest> calls, string number) =>
        [.. calls.Where(r => r.Metadata.TryGetValue("toNumber", out var to) && to == number)];

    private async Task ChooseSmsAsync(string staffId, string school)
    {
        using var client = _notifications.CreateClientAs(TestTokens.Counselor(staffId, school));
        using var response = await client.PutAsJsonAsync($"/api/notifications/v1/staff/{staffId}/preferences",
            new { kinds = new Dictionary<string, object> { ["risk-alert"] = new { channels = new[] { "in-app", "sms" } } } });
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    private async Task<RiskAlertRaised> AlertAsync(string school, string student)
    {
        var alert = new RiskAlertRaised(NewId.NextGuid(), student, school, RiskKinds.ChronicAbsence, "Missed 2 of 10 school days so far (20 %).", 0.2, DateTimeOffset.UtcNow);
        await _notifications.Services.GetRequiredService<IBus>().Publish(alert);
        return alert;
    }

    private Task<List<Delivery>> SmsDeliveriesAsync(Guid eventId) =>
        _notifications.WithDbAsync<NotificationsDbContext, List<Delivery>>(db => db.Deliveries.Where(d => d.SourceEventId == eventId && d.Channel == Channels.Sms).ToListAsync());

    /// <summary>A school with counselors and one student "Dana Fielding", grade 9, through the JSON roster.</summary>
    private async Task<string> RosterAsync(params (string Id, string? Phone)[] counselors)
    {
        var school = $"sch-{Guid.NewGuid():N}"[..12];
        using var client = _ingestion.CreateClient();
        using var roster = await client.PostAsJsonAsync("/api/ingestion/v1/roster", new
        {
            schools = new[] { new { schoolId = school, name = "Test school" } },
            staff = counselors.Select(c => new { staffId = $"{school}-{c.Id}", schoolId = school, role = "counselor", givenName = "Ada", familyName = c.Id, email = "", phone = c.Phone }),
            students = new[] { new { studentId = $"{school}-s1", schoolId = school, givenName = "Dana", familyName = "Fielding", gradeLevel = "9" } },
        });
        Assert.True(roster.IsSuccessStatusCode, await roster.Content.ReadAsStringAsync());
        return school;
    }

    [Fact]
    public async Task An_alert_to_a_counselor_who_chose_sms_is_one_short_text_without_the_students_name()
    {
        // The roster comes from a OneRoster users.csv: the sms column (as people write numbers) wins over phone.
        var school = $"sch-{Guid.NewGuid():N}"[..12];
        var (number, written) = NewNumber();
        using var form = new MultipartFormDataContent
        {
            { new StringContent($"sourcedId,status,dateLastModified,name,type\n{school},active,2026-08-01,Test school,school\n", Encoding.UTF8, "text/csv"), "files", "orgs.csv" },
            {
                new StringContent("sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,givenName,familyName,email,sms,phone,grades\n"
                    + $"{school}-c1,active,2026-08-01,true,{school},counselor,c1,Rosa,Lee,rosa@school.test,\"{written}\",+1 555 999 0000,\n"
                    + $"{school}-s1,active,2026-08-01,true,{school},student,s1,Dana,Fielding,,,,09\n", Encoding.UTF8, "text/csv"),
                "files", "users.csv"
            },
        };
        using (var ingestion = _ingestion.CreateClient())
        using (var imported = await ingestion.PostAsync("/api/ingestion/v1/oneroster", form))
        {
            Assert.True(imported.StatusCode == HttpStatusCode.OK, await imported.Content.ReadAsStringAsync());
        }
        await ChooseSmsAsync($"{school}-c1", school);

        var alert = await AlertAsync(school, $"{school}-s1");
        await _notifications.Services.GetRequiredService<IBus>().Publish(alert);   // redelivered

        await Eventually.WaitAsync(() => Task.FromResult(To(_sidecar.Succeeded, number).Count), n => n >= 1, TimeSpan.FromSeconds(60));
        await Task.Delay(1500);
        var sms = Assert.Single(To(_sidecar.Requests, number));
        Assert.Equal(Binding, sms.Name);
        Assert.Equal("create", sms.Operation);
        Assert.Equal(number, sms.Metadata["toNumber"]);
        var text = sms.Data.ToStringUtf8();
        Assert.True(text.Length <= 160, $"{text.Length} characters: {text}");
        Assert.DoesNotContain("Dana", text);
        Assert.DoesNotContain("Fielding", text);
        Assert.Contains("D.F., grade 09", text);
        Assert.EndsWith($"{Dashboard}/#/student/{school}-s1", text);
        Assert.All(text, c => Assert.InRange(c, ' ', '~'));   // plain ASCII: one segment

        // Sent once, and an alert delivered again after that sends nothing more.
        await _notifications.Services.GetRequiredService<IBus>().Publish(alert);
        await Task.Delay(1500);
        Assert.Single(To(_sidecar.Requests, number));
        var delivery = Assert.Single(await SmsDeliveriesAsync(alert.AlertId));
        Assert.Equal((DeliveryStatuses.Sent, 1), (delivery.Status, delivery.Attempts));
    }

    [Fact]
    public async Task A_sidecar_that_fails_twice_then_succeeds_delivers_the_text_once()
    {
        var (number, written) = NewNumber();
        var school = await RosterAsync(("c1", written));
        await ChooseSmsAsync($"{school}-c1", school);
        _sidecar.Fail(r => r.Metadata.TryGetValue("toNumber", out var to) && to == number, times: 2);

        var alert = await AlertAsync(school, $"{school}-s1");

        var sent = await Eventually.WaitAsync(() => SmsDeliveriesAsync(alert.AlertId), d => d.Count == 1 && d[0].Status != DeliveryStatuses.Pending,
            TimeSpan.FromSeconds(60));
        var delivery = Assert.Single(sent);
        Assert.Equal(DeliveryStatuses.Sent, delivery.Status);
        Assert.Equal(3, delivery.Attempts);                         // two failed rounds, the third went through
        Assert.Equal(3, To(_sidecar.Requests, number).Count);       // one call a round: no retry loop besides the dispatcher's
        Assert.Single(To(_sidecar.Succeeded, number));
    }

    [Fact]
    public async Task A_sidecar_that_always_fails_dead_letters_the_text_with_the_reason_and_no_number_dead_letters_at_once()
    {
        var (number, written) = NewNumber();
        var school = await RosterAsync(("c1", written), ("c2", null));
        await ChooseSmsAsync($"{school}-c1", school);
        await ChooseSmsAsync($"{school}-c2", school);
        _sidecar.Fail(r => r.Metadata.TryGetValue("toNumber", out var to) && to == number, times: int.MaxValue);

        var alert = await AlertAsync(school, $"{school}-s1");

        var done = await Eventually.WaitAsync(() => SmsDeliveriesAsync(alert.AlertId), d => d.Count == 2 && d.All(x => x.Status == DeliveryStatuses.Dead),
            TimeSpan.FromSeconds(60));
        var failing = Assert.Single(done, d => d.StaffId == $"{school}-c1");
        Assert.Equal((DeliveryStatuses.Dead, 3), (failing.Status, failing.Attempts));   // MaxAttempts rounds
        Assert.Contains($"Dapr binding '{Binding}' (create) failed", failing.LastError);
        Assert.Contains("error from Twilio (503)", failing.LastError);             // what the sidecar said, not the client's wrapper
        Assert.Equal(3, To(_sidecar.Requests, number).Count);
        Assert.Empty(To(_sidecar.Succeeded, number));

        var noNumber = Assert.Single(done, d => d.StaffId == $"{school}-c2");
        Assert.Equal((DeliveryStatuses.Dead, 1), (noNumber.Status, noNumber.Attempts));   // retrying cannot give them a number
        Assert.StartsWith("No mobile number", noNumber.LastError);

        using var ops = _notifications.CreateClientAs(TestTokens.Ops());
        var list = await ops.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/notifications/v1/dead-letters");
        Assert.Contains(list.GetProperty("deadLetters").EnumerateArray(), d => d.GetProperty("deliveryId").GetGuid() == failing.DeliveryId);
    }
}
