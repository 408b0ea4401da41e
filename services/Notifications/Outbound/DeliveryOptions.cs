namespace Beacon.Notifications.Outbound;

/// <summary>Configuration section "Notifications".</summary>
public sealed class DeliveryOptions
{
    /// <summary>Dispatch rounds before a delivery is dead-lettered (each round already retries inside, see Polly pipelines).</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>Wait after the first failed round; doubled after each further one.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often pending deliveries are looked for.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Tries within one round (in-call retries with exponential back-off).</summary>
    public int InCallRetries { get; set; } = 2;
    public TimeSpan InCallRetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>"smtp" (MailKit, default) or "dapr" (a Dapr output binding through the sidecar).</summary>
    public string EmailTransport { get; set; } = "smtp";
    public SmtpOptions Smtp { get; set; } = new();
    public DaprOptions Dapr { get; set; } = new();

    /// <summary>
    /// "none" (default): SMS is not offered (a preference for it is refused; a delivery left from before is dead-lettered
    /// with that reason). "dapr": texts go through the Dapr SMS output binding (<see cref="DaprOptions.SmsBinding"/>).
    /// </summary>
    public string SmsTransport { get; set; } = "none";

    public bool SmsOffered => string.Equals(SmsTransport, "dapr", StringComparison.OrdinalIgnoreCase);

    /// <summary>The dashboard's address (https://host), for the link in a text message; empty: the link is the path alone.</summary>
    public string DashboardUrl { get; set; } = "";
    public TimeSpan WebhookTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the roster's answer "who are this school's counselors" is used before asking again; zero asks for every alert.</summary>
    public TimeSpan RosterCacheFor { get; set; } = TimeSpan.FromSeconds(30);
}

public sealed class SmtpOptions
{
    /// <summary>Empty: no mail server configured; email deliveries are dead-lettered with that reason, not lost.</summary>
    public string Host { get; set; } = "";
    public int Port { get; set; } = 25;
    public bool UseTls { get; set; }
    public string? UserName { get; set; }
    public string? Password { get; set; }
    public string From { get; set; } = "beacon@localhost";
    public string FromName { get; set; } = "Beacon";
}

public sealed class DaprOptions
{
    /// <summary>The sidecar's gRPC address; empty means DAPR_GRPC_ENDPOINT or the default port 50001.</summary>
    public string GrpcEndpoint { get; set; } = "";
    public string EmailBinding { get; set; } = "email";

    /// <summary>The Dapr component of type bindings.twilio.sms (its toNumber left unset: each message names its own).</summary>
    public string SmsBinding { get; set; } = "sms";
}
