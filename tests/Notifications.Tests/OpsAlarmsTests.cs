using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Beacon.Contracts.Events;
using Beacon.Notifications.Domain;
using Beacon.Notifications.Storage;
using Beacon.ServiceDefaults;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.Notifications.Tests;

/// <summary>
/// Ops alarms on the real RabbitMQ: with nobody to tell, an alarm is an error on the ops list (not only a dead letter); a
/// person who signs in becomes a recipient from their token's claims; ops acknowledge an alarm with a note, once.
/// </summary>
public sealed class OpsAlarmsTests : IAsyncLifetime
{
    private readonly ServiceFactory<Program> _service = new();

    public Task InitializeAsync() => _service.WaitUntilReadyAsync();

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private Task<OpsAlarm?> AlarmAsync(Guid id) =>
        _service.WithDbAsync<NotificationsDbContext, OpsAlarm?>(db => db.OpsAlarms.AsNoTracking().FirstOrDefaultAsync(a => a.AlarmId == id));

    [Fact]
    public async Task An_alarm_without_recipient_is_an_error_until_ops_sign_in_and_ops_acknowledge_it_with_a_note()
    {
        var bus = _service.Services.GetRequiredService<IBus>();
        // Nobody in the staff projection (no directory configured; the readiness probe's administrator token is forgotten).
        await _service.WithDbAsync<NotificationsDbContext, int>(db => db.Staff.ExecuteDeleteAsync());
        var lonely = new RetrainingJobFinished(NewId.NextGuid(), "chronic-absence", "failed", "test", null, null, "out of memory", DateTimeOffset.UtcNow);
        await bus.Publish(lonely);
        var alarm = await Eventually.WaitAsync(() => AlarmAsync(lonely.JobId), a => a is not null, TimeSpan.FromSeconds(60));
        Assert.StartsWith("No recipient", alarm!.Error);
        Assert.Equal(EventKinds.RetrainingFailed, alarm.Kind);
        Assert.True(await _service.WithDbAsync<NotificationsDbContext, bool>(db =>
            db.Deliveries.AnyAsync(d => d.SourceEventId == lonely.JobId && d.Channel == Channels.None && d.Status == DeliveryStatuses.Dead)));

        // An ops person signs in (any issuer's claims: sub, role, name, email): from their first request on they are told.
        var opsId = $"ops-{Guid.NewGuid():N}"[..12];
        var token = TestTokens.For(opsId, [Roles.Ops]);
        using var ops = _service.CreateClientAs(token);
        var list = await ops.GetFromJsonAsync<JsonElement>("/api/notifications/v1/ops/alarms");
        var listed = list.GetProperty("alarms").EnumerateArray().Single(a => a.GetProperty("alarmId").GetGuid() == lonely.JobId);
        Assert.StartsWith("No recipient", listed.GetProperty("error").GetString());
        Assert.True(list.GetProperty("withoutRecipient").GetInt32() >= 1);
        var staff = await _service.WithDbAsync<NotificationsDbContext, StaffMember?>(db => db.Staff.AsNoTracking().FirstOrDefaultAsync(s => s.StaffId == opsId));
        Assert.Equal((Roles.Ops, StaffSources.SignIn), (staff!.Role, staff.Source));

        var drift = new ModelDriftDetected(NewId.NextGuid(), "chronic-absence", Guid.NewGuid(), 2, "baseline", new DateOnly(2027, 2, 1), 0.4, [], 150, DateTimeOffset.UtcNow);
        await bus.Publish(drift);
        var told = await Eventually.WaitAsync(() => AlarmAsync(drift.RunId), a => a is not null, TimeSpan.FromSeconds(60));
        Assert.Null(told!.Error);
        Assert.Contains(opsId, told.Recipients.Split(','));
        var feed = await ops.GetFromJsonAsync<JsonElement>($"/api/notifications/v1/staff/{opsId}/feed");
        Assert.Contains(feed.GetProperty("entries").EnumerateArray(), e => e.GetProperty("title").GetString() == "Model drift: chronic-absence v2");

        // Acknowledge: a note is required; who and when are recorded; a second acknowledgement is refused.
        var path = $"/api/notifications/v1/ops/alarms/{drift.RunId}/acknowledge";
        using (var empty = await ops.PostAsJsonAsync(path, new { note = " " }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        }
        using (var ack = await ops.PostAsJsonAsync(path, new { note = "Known: the district changed how late arrivals are recorded." }))
        {
            Assert.Equal(HttpStatusCode.OK, ack.StatusCode);
            var body = await ack.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(opsId, body.GetProperty("acknowledged").GetProperty("by").GetString());
        }
        using (var again = await ops.PostAsJsonAsync(path, new { note = "again" }))
        {
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        }
        using (var unknown = await ops.PostAsJsonAsync($"/api/notifications/v1/ops/alarms/{Guid.NewGuid()}/acknowledge", new { note = "x" }))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }
        var stored = await AlarmAsync(drift.RunId);
        Assert.Equal((opsId, "Known: the district changed how late arrivals are recorded."), (stored!.AcknowledgedBy, stored.AcknowledgementNote));

        // Counselors do not see the ops list.
        using var counselor = _service.CreateClientAs(TestTokens.Counselor("c-1", "north"));
        using var refused = await counselor.GetAsync("/api/notifications/v1/ops/alarms");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }
}
