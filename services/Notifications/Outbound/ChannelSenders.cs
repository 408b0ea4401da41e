using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Beacon.Notifications.Domain;
using Beacon.Notifications.Storage;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;
using Polly;
using Polly.Retry;

namespace Beacon.Notifications.Outbound;

/// <summary>A channel that can fail: a failure is thrown, counted, retried later and finally dead-lettered.</summary>
public interface IChannelSender
{
    string Channel { get; }

    /// <summary>Sends one message (one item, or a digest of several) to one recipient.</summary>
    Task SendAsync(StaffMember? recipient, UserPreferences? prefs, IReadOnlyList<Delivery> items, CancellationToken ct);
}

/// <summary>A failure that retrying cannot fix (no address, no URL): dead-lettered at once.</summary>
public sealed class PermanentDeliveryException(string message) : Exception(message);

/// <summary>Email through SMTP with MailKit; transient SMTP/socket failures are retried in the call with back-off (Polly).</summary>
public sealed class EmailSender(IOptions<DeliveryOptions> options) : IChannelSender
{
    private readonly ResiliencePipeline _retry = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            MaxRetryAttempts = Math.Max(1, options.Value.InCallRetries),
            Delay = options.Value.InCallRetryDelay,
            BackoffType = DelayBackoffType.Exponential,
            ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not PermanentDeliveryException and not OperationCanceledException),
        })
        .Build();

    public string Channel => Channels.Email;

    public async Task SendAsync(StaffMember? recipient, UserPreferences? prefs, IReadOnlyList<Delivery> items, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(recipient?.Email))
        {
            throw new PermanentDeliveryException($"No email address on the roster for '{items[0].StaffId}'.");
        }
        var smtp = options.Value.Smtp;
        if (string.IsNullOrWhiteSpace(smtp.Host))
        {
            throw new PermanentDeliveryException("No mail server configured (Notifications:Smtp:Host).");
        }
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress(smtp.FromName, smtp.From));
        message.To.Add(new MailboxAddress(recipient.Name, recipient.Email));
        message.Subject = items.Count == 1 ? items[0].Title : $"Beacon digest: {items.Count} notifications";
        message.Body = new TextPart("plain") { Text = string.Join("\n\n", items.Select(i => $"{i.Title}\n{i.Body}")) };
        // One Message-Id per delivery (or digest), so a resend after an unclear failure can be de-duplicated by mail systems.
        message.MessageId = $"{items[0].DeliveryId:N}@beacon";

        await _retry.ExecuteAsync(async token =>
        {
            using var client = new SmtpClient();
            await client.ConnectAsync(smtp.Host, smtp.Port, smtp.UseTls ? SecureSocketOptions.StartTls : SecureSocketOptions.None, token);
            if (!string.IsNullOrEmpty(smtp.UserName))
            {
                await client.AuthenticateAsync(smtp.UserName, smtp.Password ?? "", token);
            }
            await client.SendAsync(message, token);
            await client.DisconnectAsync(true, token);
        }, ct);
    }
}

/// <summary>
/// HTTP POST of a JSON body signed with HMAC-SHA256 over "timestamp.body" with the recipient's secret
/// (headers X-Beacon-Timestamp, X-Beacon-Signature: sha256=hex). The named HttpClient retries 5xx and
/// timeouts with back-off (Microsoft.Extensions.Http.Resilience). Where it may connect, how much of the answer it
/// reads and how often it calls per recipient is the <see cref="WebhookGuard"/>'s.
/// </summary>
public sealed class WebhookSender(IHttpClientFactory http, TimeProvider clock, WebhookGuard guard) : IChannelSender
{
    public const string ClientName = "webhooks";
    public const string SignatureHeader = "X-Beacon-Signature";
    public const string TimestampHeader = "X-Beacon-Timestamp";

    public string Channel => Channels.Webhook;

    public async Task SendAsync(StaffMember? recipient, UserPreferences? prefs, IReadOnlyList<Delivery> items, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(prefs?.WebhookUrl) || string.IsNullOrEmpty(prefs.WebhookSecret))
        {
            throw new PermanentDeliveryException($"No webhook URL and secret in the preferences of '{items[0].StaffId}'.");
        }
        if (guard.ProblemWith(prefs.WebhookUrl) is { } problem)
        {
            // Saved before the rules tightened (or the allow-list shrank): not sent, and retrying cannot help.
            throw new PermanentDeliveryException($"Webhook URL {problem}");
        }
        if (!guard.TryAcquire(items[0].StaffId))
        {
            throw new HttpRequestException($"More than {guard.Options.PerUserPerMinute} webhook calls a minute for '{items[0].StaffId}'; sent in a later round.");
        }
        var body = JsonSerializer.Serialize(new
        {
            staffId = items[0].StaffId,
            notifications = items.Select(i => new { deliveryId = i.DeliveryId, eventId = i.SourceEventId, kind = i.Kind, studentId = i.StudentId, title = i.Title, body = i.Body }),
        });
        var timestamp = clock.GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, prefs.WebhookUrl)
        {
            Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };
        request.Headers.Add(TimestampHeader, timestamp);
        request.Headers.Add(SignatureHeader, "sha256=" + WebhookSignature.Compute(prefs.WebhookSecret, timestamp, body));
        request.Headers.Add("Idempotency-Key", items[0].DeliveryId.ToString());
        HttpResponseMessage response;
        try
        {
            // Headers only: the body is not buffered (a receiver could answer with gigabytes).
            response = await http.CreateClient(ClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        }
        catch (HttpRequestException ex) when (ex.InnerException is WebhookDestinationRefusedException refused)
        {
            throw new PermanentDeliveryException(refused.Message);
        }
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                // Redirects are not followed (they could point inward): a 3xx is a failure like any other.
                var excerpt = await ReadAtMostAsync(response, guard.Options.MaxResponseBytes, ct);
                throw new HttpRequestException($"Webhook answered {(int)response.StatusCode} {response.ReasonPhrase}. {excerpt}".TrimEnd(), null, response.StatusCode);
            }
        }
    }

    /// <summary>The start of a failed answer, for the dead letter's reason; never more than <paramref name="max"/> bytes.</summary>
    private static async Task<string> ReadAtMostAsync(HttpResponseMessage response, int max, CancellationToken ct)
    {
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        var buffer = new byte[Math.Max(0, Math.Min(max, 64 * 1024))];
        var read = 0;
        int n;
        while (read < buffer.Length && (n = await body.ReadAsync(buffer.AsMemory(read), ct)) > 0)
        {
            read += n;
        }
        var text = Encoding.UTF8.GetString(buffer, 0, read);
        return text.Length > 200 ? text[..200] : text;
    }
}

public static class WebhookSignature
{
    public static string Compute(string secret, string timestamp, string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.{body}")));

    /// <summary>What a receiver does: recompute and compare in constant time.</summary>
    public static bool Verify(string secret, string timestamp, string body, string header) =>
        header.StartsWith("sha256=", StringComparison.Ordinal)
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Compute(secret, timestamp, body)), Encoding.ASCII.GetBytes(header["sha256=".Length..]));
}
