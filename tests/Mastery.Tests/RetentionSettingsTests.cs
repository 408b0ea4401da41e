using Beacon.Testing;

namespace Beacon.Mastery.Tests;

/// <summary>Retention periods are parsed once, at start: a bad one stops the service there, naming the key.</summary>
public sealed class RetentionSettingsTests
{
    [Theory]
    [InlineData("AnswerHistory", "soon", "not an ISO 8601 duration")]
    [InlineData("AnswerHistory", "P0D", "longer than zero")]
    [InlineData("Answers", "P1Y", "not a kind of data")]
    [InlineData("Interval", "hourly", "not an ISO 8601 duration")]
    public async Task A_bad_retention_setting_stops_the_start_naming_the_key(string key, string value, string reason)
    {
        await using var service = new ServiceFactory<Program> { Settings = { [$"Retention:{key}"] = value } };
        var error = Assert.ThrowsAny<Exception>(() => service.CreateClient());
        Assert.Contains($"Retention:{key}", error.ToString(), StringComparison.Ordinal);
        Assert.Contains(reason, error.ToString(), StringComparison.Ordinal);
    }
}
