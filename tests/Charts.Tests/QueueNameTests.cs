extern alias EarlyWarning;
extern alias Interventions;
extern alias Mastery;
extern alias Notifications;

using MassTransit;

namespace Beacon.Charts.Tests;

/// <summary>
/// KEDA scales each consumer service on the queues listed in values.yaml: they must be the queues the
/// services really consume, named as AddServiceBus names them (service prefix, kebab case).
/// </summary>
public sealed class QueueNameTests
{
    public static TheoryData<string, string> Queues() => new()
    {
        { "mastery", new KebabCaseEndpointNameFormatter("mastery", false).Consumer<Mastery::Beacon.Mastery.Consumers.ItemResponseRecordedConsumer>() },
        { "earlyWarning", new KebabCaseEndpointNameFormatter("early-warning", false).Consumer<EarlyWarning::Beacon.EarlyWarning.Consumers.AttendanceRecordedConsumer>() },
        { "interventions", new KebabCaseEndpointNameFormatter("interventions", false).Consumer<Interventions::Beacon.Interventions.Consumers.RiskAlertRaisedConsumer>() },
        { "notifications", new KebabCaseEndpointNameFormatter("notifications", false).Consumer<Notifications::Beacon.Notifications.Consumers.RiskAlertRaisedConsumer>() },
    };

    [Theory]
    [MemberData(nameof(Queues))]
    public void Values_list_the_queue_each_service_consumes(string serviceKey, string queue)
    {
        var values = File.ReadAllLines(Path.Combine(Repository.Root(), "charts", "beacon", "values.yaml"));
        // services.<key> block, then its first "queues:" line.
        var start = Array.FindIndex(values, l => l == $"  {serviceKey}:");
        Assert.True(start >= 0, $"values.yaml has no services.{serviceKey}");
        var queuesLine = values.Skip(start + 1).TakeWhile(l => l.StartsWith("    ", StringComparison.Ordinal) || l.Length == 0)
            .FirstOrDefault(l => l.TrimStart().StartsWith("queues:", StringComparison.Ordinal));
        Assert.Equal($"queues: [{queue}]", queuesLine?.Trim());
    }
}
