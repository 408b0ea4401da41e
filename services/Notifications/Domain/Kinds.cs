namespace Beacon.Notifications.Domain;

public static class Channels
{
    public const string InApp = "in-app";
    public const string Email = "email";
    public const string Webhook = "webhook";

    /// <summary>No recipient could be found; recorded so that nothing is dropped silently.</summary>
    public const string None = "none";
    public static readonly string[] All = [InApp, Email, Webhook];
}

public static class EventKinds
{
    public const string RiskAlert = "risk-alert";
    public const string CaseAssigned = "case-assigned";
    public const string CaseOverdue = "case-overdue";
    public static readonly string[] All = [RiskAlert, CaseAssigned, CaseOverdue];
}

public static class DeliveryStatuses
{
    public const string Pending = "pending";
    public const string Sent = "sent";
    public const string Dead = "dead";
}
