using Beacon.Notifications.Domain;
using Beacon.Notifications.Storage;

namespace Beacon.Notifications.Tests;

public sealed class PreferenceRulesTests
{
    private static readonly DateTimeOffset Evening = new(2026, 11, 23, 22, 30, 0, TimeSpan.Zero);

    [Fact]
    public void Rules_round_trip_through_their_stored_form()
    {
        var rules = new Dictionary<string, KindRule>
        {
            ["risk-alert"] = new(["in-app", "email"], false),
            ["case-assigned"] = new(["email"], true),
            ["case-overdue"] = new([], false),
        };
        var parsed = PreferenceRules.Parse(PreferenceRules.Format(rules));
        Assert.Equal(["in-app", "email"], parsed["risk-alert"].Channels);
        Assert.True(parsed["case-assigned"].Digest);
        Assert.Empty(parsed["case-overdue"].Channels);
    }

    [Fact]
    public void Without_preferences_the_default_is_feed_and_immediate_email()
    {
        Assert.Equal(PreferenceDefaults.Default, PreferenceRules.For(null, EventKinds.RiskAlert));
        Assert.Equal(Evening, PreferenceRules.NotBefore(null, digest: false, Evening));
    }

    [Fact]
    public void Quiet_hours_that_wrap_midnight_hold_an_evening_message_until_morning()
    {
        var prefs = new UserPreferences { StaffId = "c1", QuietFrom = new TimeOnly(21, 0), QuietUntil = new TimeOnly(7, 0) };
        Assert.Equal(new DateTimeOffset(2026, 11, 24, 7, 0, 0, TimeSpan.Zero), PreferenceRules.NotBefore(prefs, false, Evening));
        var earlyMorning = new DateTimeOffset(2026, 11, 24, 5, 0, 0, TimeSpan.Zero);
        Assert.Equal(new DateTimeOffset(2026, 11, 24, 7, 0, 0, TimeSpan.Zero), PreferenceRules.NotBefore(prefs, false, earlyMorning));
        var noon = new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal(noon, PreferenceRules.NotBefore(prefs, false, noon));
    }

    [Fact]
    public void Quiet_hours_follow_the_recipients_time_zone()
    {
        // 22:30 UTC is 23:30 in Paris (winter): inside 21:00–07:00 Paris, so held until 07:00 Paris = 06:00 UTC.
        var prefs = new UserPreferences { StaffId = "c1", QuietFrom = new TimeOnly(21, 0), QuietUntil = new TimeOnly(7, 0), TimeZone = "Europe/Paris" };
        Assert.Equal(new DateTimeOffset(2026, 11, 24, 6, 0, 0, TimeSpan.Zero), PreferenceRules.NotBefore(prefs, false, Evening));
    }

    [Fact]
    public void A_digest_waits_for_the_next_digest_hour()
    {
        var prefs = new UserPreferences { StaffId = "c1", DigestAt = new TimeOnly(7, 30) };
        Assert.Equal(new DateTimeOffset(2026, 11, 24, 7, 30, 0, TimeSpan.Zero), PreferenceRules.NotBefore(prefs, true, Evening));
        var early = new DateTimeOffset(2026, 11, 24, 6, 0, 0, TimeSpan.Zero);
        Assert.Equal(new DateTimeOffset(2026, 11, 24, 7, 30, 0, TimeSpan.Zero), PreferenceRules.NotBefore(prefs, true, early));
    }

    [Fact]
    public void Quiet_windows_are_half_open()
    {
        Assert.True(PreferenceRules.InWindow(new TimeOnly(21, 0), new TimeOnly(21, 0), new TimeOnly(7, 0)));
        Assert.False(PreferenceRules.InWindow(new TimeOnly(7, 0), new TimeOnly(21, 0), new TimeOnly(7, 0)));
        Assert.True(PreferenceRules.InWindow(new TimeOnly(12, 0), new TimeOnly(9, 0), new TimeOnly(17, 0)));
        Assert.False(PreferenceRules.InWindow(new TimeOnly(18, 0), new TimeOnly(9, 0), new TimeOnly(17, 0)));
    }
}
