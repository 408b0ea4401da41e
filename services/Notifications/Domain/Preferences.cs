using Beacon.Notifications.Storage;

namespace Beacon.Notifications.Domain;

/// <summary>What one staff member wants for one kind of event.</summary>
public sealed record KindRule(IReadOnlyList<string> Channels, bool Digest);

public static class PreferenceDefaults
{
    /// <summary>Without preferences everyone gets the feed and an immediate email.</summary>
    public static readonly KindRule Default = new([Channels.InApp, Channels.Email], Digest: false);
}

/// <summary>Reads and writes the compact rule string and works out when a message may go out.</summary>
public static class PreferenceRules
{
    public static Dictionary<string, KindRule> Parse(string rules)
    {
        var result = new Dictionary<string, KindRule>();
        foreach (var part in rules.Split('|', StringSplitOptions.RemoveEmptyEntries))
        {
            var (kind, rest) = (part[..part.IndexOf('=')], part[(part.IndexOf('=') + 1)..]);
            var digest = rest.EndsWith(";digest", StringComparison.Ordinal);
            var channels = (digest ? rest[..^";digest".Length] : rest).Split('+', StringSplitOptions.RemoveEmptyEntries);
            result[kind] = new KindRule(channels, digest);
        }
        return result;
    }

    public static string Format(IReadOnlyDictionary<string, KindRule> rules) =>
        string.Join('|', rules.OrderBy(r => r.Key, StringComparer.Ordinal)
            .Select(r => $"{r.Key}={string.Join('+', r.Value.Channels)}{(r.Value.Digest ? ";digest" : "")}"));

    public static KindRule For(UserPreferences? prefs, string kind) =>
        prefs is not null && Parse(prefs.Rules).TryGetValue(kind, out var rule) ? rule : PreferenceDefaults.Default;

    /// <summary>
    /// The earliest instant an outbound message may be sent: the next digest hour for digests, the
    /// end of quiet hours if now is inside them, otherwise now.
    /// </summary>
    public static DateTimeOffset NotBefore(UserPreferences? prefs, bool digest, DateTimeOffset now)
    {
        if (prefs is null)
        {
            return now;
        }
        var zone = TimeZoneInfo.FindSystemTimeZoneById(prefs.TimeZone);
        var local = TimeZoneInfo.ConvertTime(now, zone);
        var candidate = now;
        if (digest)
        {
            var at = new DateTimeOffset(local.Date + prefs.DigestAt.ToTimeSpan(), local.Offset);
            candidate = at > local ? at : at.AddDays(1);
            local = TimeZoneInfo.ConvertTime(candidate, zone);
        }
        if (prefs.QuietFrom is { } from && prefs.QuietUntil is { } until && InWindow(TimeOnly.FromTimeSpan(local.TimeOfDay), from, until))
        {
            var end = new DateTimeOffset(local.Date + until.ToTimeSpan(), local.Offset);
            candidate = end > local ? end : end.AddDays(1);
        }
        return candidate.ToUniversalTime();
    }

    /// <summary>True when t is in [from, until), where the window may wrap past midnight (e.g. 21:00–07:00).</summary>
    public static bool InWindow(TimeOnly t, TimeOnly from, TimeOnly until) =>
        from <= until ? t >= from && t < until : t >= from || t < until;
}
