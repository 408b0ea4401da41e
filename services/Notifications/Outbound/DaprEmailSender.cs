using System.Text;
using Beacon.Notifications.Domain;
using Beacon.Notifications.Storage;
using Dapr.Client;
using Microsoft.Extensions.Options;

namespace Beacon.Notifications.Outbound;

/// <summary>
/// Email through a Dapr output binding (bindings.smtp or any binding taking the same metadata) when the
/// service runs beside a Dapr sidecar (Notifications:EmailTransport = dapr). Calls the sidecar's gRPC
/// InvokeBinding with operation "create"; failures are retried and dead-lettered like SMTP ones.
/// </summary>
public sealed class DaprEmailSender(DaprClient dapr, IOptions<DeliveryOptions> options) : IChannelSender
{
    public string Channel => Channels.Email;

    public async Task SendAsync(StaffMember? recipient, UserPreferences? prefs, IReadOnlyList<Delivery> items, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(recipient?.Email))
        {
            throw new PermanentDeliveryException($"No email address on the roster for '{items[0].StaffId}'.");
        }
        var request = new BindingRequest(options.Value.Dapr.EmailBinding, "create")
        {
            Data = Encoding.UTF8.GetBytes(string.Join("\n\n", items.Select(i => $"{i.Title}\n{i.Body}"))),
        };
        request.Metadata["emailTo"] = recipient.Email;
        request.Metadata["emailFrom"] = options.Value.Smtp.From;
        request.Metadata["subject"] = items.Count == 1 ? items[0].Title : $"Beacon digest: {items.Count} notifications";
        await DaprBinding.InvokeAsync(dapr, request, ct);
    }
}
