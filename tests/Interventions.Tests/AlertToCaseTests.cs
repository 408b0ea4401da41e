using Beacon.Contracts.Events;
using Beacon.Interventions.Domain;
using Beacon.Interventions.Storage;
using Beacon.Messaging;
using Beacon.Testing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Beacon.Interventions.Tests;

/// <summary>Interventions against the real RabbitMQ: alerts become cases exactly once.</summary>
public sealed class AlertToCaseTests : IAsyncLifetime
{
    private readonly ServiceFactory<Program> _service = new();

    public Task InitializeAsync() => _service.WaitUntilReadyAsync();

    public async Task DisposeAsync() => await _service.DisposeAsync();

    private Task<List<InterventionCase>> CasesAsync(string studentId) =>
        _service.WithDbAsync<InterventionsDbContext, List<InterventionCase>>(db =>
            db.Cases.Include(c => c.Alerts).Where(c => c.StudentId == studentId).ToListAsync());

    private Task<int> CaseOpenedEventsAsync(string studentId) =>
        _service.WithDbAsync<InterventionsDbContext, int>(db =>
            db.Set<OutboxMessage>().CountAsync(m => m.MessageType.Contains(nameof(InterventionCaseOpened)) && m.Body.Contains(studentId)));

    private static RiskAlertRaised Alert(string studentId) =>
        new(NewId.NextGuid(), studentId, "school-t", RiskKinds.ChronicAbsence, "Missed 3 of 20 school days so far (15 %).", 0.15, DateTimeOffset.UtcNow);

    [Fact]
    public async Task A_redelivered_alert_opens_one_case()
    {
        var bus = _service.Services.GetRequiredService<IBus>();
        var student = $"stu-{Guid.NewGuid():N}";
        var alert = Alert(student);

        // The same message three times, as a broker does after a consumer crash before its ack.
        var messageId = NewId.NextGuid();
        for (var i = 0; i < 3; i++)
        {
            await bus.Publish(alert, ctx => ctx.MessageId = messageId);
        }

        var cases = await Eventually.WaitAsync(() => CasesAsync(student), c => c.Count > 0, TimeSpan.FromSeconds(60));
        await Task.Delay(1500);   // give any duplicate time to land
        cases = await CasesAsync(student);
        var opened = Assert.Single(cases);
        Assert.Equal(CaseStatuses.Open, opened.Status);
        Assert.Null(opened.AssignedTo);
        Assert.Equal(alert.AlertId, Assert.Single(opened.Alerts).AlertId);
        Assert.Equal(1, await CaseOpenedEventsAsync(student));
    }

    [Fact]
    public async Task A_second_alert_for_a_student_with_an_active_case_joins_that_case()
    {
        var bus = _service.Services.GetRequiredService<IBus>();
        var student = $"stu-{Guid.NewGuid():N}";
        var first = Alert(student);
        var second = Alert(student);
        await bus.Publish(first);
        await Eventually.WaitAsync(() => CasesAsync(student), c => c.Count == 1, TimeSpan.FromSeconds(60));
        await bus.Publish(second);

        var cases = await Eventually.WaitAsync(() => CasesAsync(student), c => c.Sum(x => x.Alerts.Count) == 2, TimeSpan.FromSeconds(60));
        var only = Assert.Single(cases);
        Assert.Equal([first.AlertId, second.AlertId], only.Alerts.Select(a => a.AlertId).Order());
        Assert.Equal(1, await CaseOpenedEventsAsync(student));
    }
}
