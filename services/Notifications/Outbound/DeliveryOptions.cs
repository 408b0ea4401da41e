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
}
