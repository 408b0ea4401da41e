extern alias Ingestion;

using System.Net.Http.Json;
using Beacon.Contracts.Events;
using Beacon.Notifications.Domain;
using Beacon.Notifications.Storage;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using IngestionProgram = Ingestion::Program;

namespace Beacon.Notifications.Tests;

/// <summary>Email through a Dapr output binding: the real Dapr client against an in-test implementation of the runtime's gRPC API.</summary>
public sealed class DaprEmailTests : IAsyncLifetime
{
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
                ["Notifications:EmailTransport"] = "dapr",
                ["Notifications:Dapr:GrpcEndpoint"] = _sidecar.Endpoint,
                ["Notifications:Dapr:EmailBinding"] = "school-mail",
                ["Notifications:PollInterval"] = "00:00:00.200",
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

    [Fact]
    public async Task An_alert_email_goes_out_through_the_dapr_binding_once()
    {
        var school = $"sch-{Guid.NewGuid():N}"[..12];
        // Unique address: this class's other tests mail through the same sidecar.
        var email = $"ada.{school}@school.test";
        using var client = _ingestion.CreateClient();
        using var roster = await client.PostAsJsonAsync("/api/ingestion/v1/roster", new
        {
            schools = new[] { new { schoolId = school, name = "Test school" } },
            staff = new[] { new { staffId = $"{school}-c1", schoolId = school, role = "counselor", givenName = "Ada", familyName = "One", email } },
            students = new[] { new { studentId = $"{school}-s1", schoolId = school, givenName = "D", familyName = "Four", gradeLevel = "9" } },
        });
        roster.EnsureSuccessStatusCode();

        var alert = new RiskAlertRaised(NewId.NextGuid(), $"{school}-s1", school, RiskKinds.ChronicAbsence, "Missed 2 of 10 school days so far (20 %).", 0.2, DateTimeOffset.UtcNow);
        var bus = _notifications.Services.GetRequiredService<IBus>();
        await bus.Publish(alert);
        await bus.Publish(alert);

        List<Dapr.Client.Autogen.Grpc.v1.InvokeBindingRequest> Mine() => _sidecar.Requests.Where(r => r.Metadata.TryGetValue("emailTo", out var to) && to == email).ToList();
        await Eventually.WaitAsync(() => Task.FromResult(Mine().Count), n => n >= 1, TimeSpan.FromSeconds(60));
        await Task.Delay(1500);
        var request = Assert.Single(Mine());
        Assert.Equal("school-mail", request.Name);
        Assert.Equal("create", request.Operation);
        Assert.Contains("D Four, grade 9", request.Metadata["subject"]);   // the roster's name, not the id
        Assert.Contains("Missed 2 of 10", request.Data.ToStringUtf8());
        var delivery = await _notifications.WithDbAsync<NotificationsDbContext, Delivery>(db => db.Deliveries.SingleAsync(d => d.SourceEventId == alert.AlertId));
        Assert.Equal(DeliveryStatuses.Sent, delivery.Status);
    }
}
