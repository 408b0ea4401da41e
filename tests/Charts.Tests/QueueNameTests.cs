extern alias EarlyWarning;
extern alias Interventions;
extern alias Mastery;
extern alias Notifications;

using MassTransit;

namespace Beacon.Charts.Tests;

/// <summary>
/// KEDA scales each consumer service on the queues listed in values.yaml: they must be the queues the
/// services really consume, named as AddServiceBus names them (service prefix, kebab case). Signals travel
/// in batches, so the batch queues carry the load; the single-event queues still take older events.
/// </summary>
public sealed class QueueNameTests
{
    private static readonly KebabCaseEndpointNameFormatter Mastery = new("mastery", false);
    private static readonly KebabCaseEndpointNameFormatter EarlyWarning = new("early-warning", false);
    private static readonly KebabCaseEndpointNameFormatter Interventions = new("interventions", false);

    public static TheoryData<string, string> Queues() => new()
    {
        { "mastery", string.Join(", ", Mastery.Consumer<Mastery::Beacon.Mastery.Consumers.ItemResponseBatchRecordedConsumer>(),
            Mastery.Consumer<Mastery::Beacon.Mastery.Consumers.ItemResponseRecordedConsumer>()) },
        { "earlyWarning", string.Join(", ", EarlyWarning.Consumer<EarlyWarning::Beacon.EarlyWarning.Consumers.AttendanceBatchRecordedConsumer>(),
            EarlyWarning.Consumer<EarlyWarning::Beacon.EarlyWarning.Consumers.AttendanceRecordedConsumer>(),
            EarlyWarning.Consumer<EarlyWarning::Beacon.EarlyWarning.Consumers.GradeRecordedConsumer>(),
            EarlyWarning.Consumer<EarlyWarning::Beacon.EarlyWarning.Consumers.BehaviorIncidentRecordedConsumer>()) },
        { "interventions", string.Join(", ", Interventions.Consumer<Interventions::Beacon.Interventions.Consumers.RiskAlertRaisedConsumer>(),
            Interventions.Consumer<Interventions::Beacon.Interventions.Consumers.AttendanceBatchRecordedConsumer>()) },
        { "notifications", new KebabCaseEndpointNameFormatter("notifications", false).Consumer<Notifications::Beacon.Notifications.Consumers.RiskAlertRaisedConsumer>() },
    };

    [Theory]
    [MemberData(nameof(Queues))]
    public void Values_list_the_queues_each_service_consumes(string serviceKey, string queues)
    {
        var values = File.ReadAllLines(Path.Combine(Repository.Root(), "charts", "beacon", "values.yaml"));
        // services.<key> block, then its first "queues:" line.
        var start = Array.FindIndex(values, l => l == $"  {serviceKey}:");
        Assert.True(start >= 0, $"values.yaml has no services.{serviceKey}");
        var queuesLine = values.Skip(start + 1).TakeWhile(l => l.StartsWith("    ", StringComparison.Ordinal) || l.Length == 0)
            .FirstOrDefault(l => l.TrimStart().StartsWith("queues:", StringComparison.Ordinal));
        Assert.Equal($"queues: [{queues}]", queuesLine?.Trim());
    }
}
