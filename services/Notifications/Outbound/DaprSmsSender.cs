using System.Text;
using Beacon.Notifications.Domain;
using Beacon.Notifications.Storage;
using Dapr.Client;
using Microsoft.Extensions.Options;

namespace Beacon.Notifications.Outbound;

/// <summary>
/// Text messages through a Dapr output binding of type bindings.twilio.sms (Notifications:SmsTransport = dapr): the
/// sidecar's gRPC InvokeBinding with operation "create", metadata toNumber (the recipient's E.164 number; the
/// component must leave its own toNumber unset, or it would win over this one) and the text as data. Delivery
/// guarantees are the dispatcher's, as for every channel: one delivery per (recipient, event, channel), a failed
/// round retried with doubling delays, dead after MaxAttempts rounds with the error as the reason, at once when
/// there is no number. No retry loop of its own.
/// </summary>
public sealed class DaprSmsSender(DaprClient dapr, IOptions<DeliveryOptions> options) : IChannelSender
{
    public string Channel => Channels.Sms;

    public async Task SendAsync(StaffMember? recipient, UserPreferences? prefs, IReadOnlyList<Delivery> items, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(recipient?.Phone))
        {
            throw new PermanentDeliveryException(
                $"No mobile number for '{items[0].StaffId}' (the roster's users.csv sms or phone column, or Notifications:Directory Phone).");
        }
        var request = new BindingRequest(options.Value.Dapr.SmsBinding, "create")
        {
            Data = Encoding.UTF8.GetBytes(SmsText.Compose(items, options.Value.DashboardUrl)),
        };
        request.Metadata["toNumber"] = recipient.Phone;
        await DaprBinding.InvokeAsync(dapr, request, ct);
    }
}
