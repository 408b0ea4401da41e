namespace Beacon.Notifications.Domain;

public static class Channels
{
    public const string InApp = "in-app";
    public const string Email = "email";
    public const string Webhook = "webhook";

    /// <summary>A text message through the Dapr SMS output binding; offered only where one is configured (<see cref="Outbound.DeliveryOptions.SmsOffered"/>).</summary>
    public const string Sms = "sms";

    /// <summary>No recipient could be found; recorded so that nothing is dropped silently.</summary>
    public const string None = "none";
    public static readonly string[] All = [InApp, Email, Webhook, Sms];

    /// <summary>The channels a preference may name in this deployment: SMS only where a transport for it is configured.</summary>
    public static string[] Offered(bool smsOffered) => smsOffered ? All : [InApp, Email, Webhook];
}

public static class EventKinds
{
    public const string RiskAlert = "risk-alert";
    public const string CaseAssigned = "case-assigned";
    public const string CaseOverdue = "case-overdue";

    // Ops alarms (OpsAlarms): about models and jobs, never about a student.
    public const string ModelDrift = "model-drift";
    public const string FprAboveBound = "fpr-above-bound";
    public const string RetrainingFailed = "retraining-failed";
    public const string ChallengerWaiting = "challenger-waiting";
    public const string ExpectedFprBand = "expected-fpr-band";
    public const string SubgroupGap = "subgroup-gap";
    public static readonly string[] Ops = [ModelDrift, FprAboveBound, ExpectedFprBand, SubgroupGap, RetrainingFailed, ChallengerWaiting];
    public static readonly string[] All = [RiskAlert, CaseAssigned, CaseOverdue, .. Ops];
}

public static class DeliveryStatuses
{
    public const string Pending = "pending";
    public const string Sent = "sent";
    public const string Dead = "dead";
}
