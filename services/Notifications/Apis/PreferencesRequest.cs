using Beacon.Notifications.Domain;
using FluentValidation;

namespace Beacon.Notifications.Apis;

public sealed record KindPreference(List<string>? Channels, bool? Digest);
public sealed record QuietHours(string? From, string? Until);
public sealed record PreferencesRequest(Dictionary<string, KindPreference>? Kinds, QuietHours? QuietHours, string? TimeZone, string? DigestAt,
    string? WebhookUrl, string? WebhookSecret);

public sealed class PreferencesValidator : AbstractValidator<PreferencesRequest>
{
    /// <param name="smsOffered">Whether this deployment can send texts (Notifications:SmsTransport): without, "sms" is refused.</param>
    public PreferencesValidator(Outbound.WebhookGuard webhooks, bool smsOffered)
    {
        RuleForEach(r => r.Kinds).ChildRules(kind =>
        {
            kind.RuleFor(k => k.Key).Must(k => EventKinds.All.Contains(k))
                .WithMessage((_, k) => $"'{k}' is not an event kind; use {string.Join(", ", EventKinds.All)}.");
            kind.RuleFor(k => k.Value.Channels).NotNull().WithMessage("is required (an empty list turns the kind off).");
            kind.RuleForEach(k => k.Value.Channels).Must(c => Channels.All.Contains(c))
                .WithMessage((_, c) => $"'{c}' is not a channel; use {string.Join(", ", Channels.Offered(smsOffered))}.");
            // Refused rather than accepted and dead-lettered later: the person choosing it learns now that no text would come.
            kind.RuleForEach(k => k.Value.Channels).Must(c => c != Channels.Sms || smsOffered)
                .WithMessage("'sms' is not offered here: no SMS transport is configured (texts go through a Dapr SMS binding, Notifications:SmsTransport=dapr).");
        }).OverridePropertyName("kinds");
        RuleFor(r => r.QuietHours!.From).Must(BeTime).WithMessage("must be a time HH:mm.").When(r => r.QuietHours is not null).OverridePropertyName("quietHours.from");
        RuleFor(r => r.QuietHours!.Until).Must(BeTime).WithMessage("must be a time HH:mm.").When(r => r.QuietHours is not null).OverridePropertyName("quietHours.until");
        RuleFor(r => r.DigestAt).Must(BeTime).When(r => r.DigestAt is not null).WithMessage("must be a time HH:mm.");
        RuleFor(r => r.TimeZone).Must(BeZone).When(r => r.TimeZone is not null).WithMessage((_, z) => $"'{z}' is not a known time zone.");
        // https only (outside the local run) and no internal IP literals; names are checked again at connect time.
        RuleFor(r => r.WebhookUrl).Must(u => webhooks.ProblemWith(u) is null)
            .When(r => r.WebhookUrl is not null).WithMessage((_, u) => webhooks.ProblemWith(u)!);
        RuleFor(r => r.WebhookSecret).MinimumLength(16).When(r => r.WebhookUrl is not null).WithMessage("must be at least 16 characters when a webhook URL is set.");
        RuleFor(r => r.WebhookUrl).NotEmpty().When(r => r.Kinds?.Values.Any(k => k.Channels?.Contains(Channels.Webhook) == true) == true)
            .WithMessage("is required when a kind uses the webhook channel.");
    }

    private static bool BeTime(string? t) => TimeOnly.TryParseExact(t, "HH:mm", out _);

    private static bool BeZone(string? zone) => TimeZoneInfo.TryFindSystemTimeZoneById(zone!, out _);
}
