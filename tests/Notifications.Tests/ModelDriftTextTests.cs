using Beacon.Contracts.Events;
using Beacon.Notifications.Consumers;

namespace Beacon.Notifications.Tests;

/// <summary>What a drift alarm tells ops: which of the score and the inputs moved, and by how much.</summary>
public sealed class ModelDriftTextTests
{
    private static ModelDriftDetected Drift(double scorePsi, string[] inputs, double[]? psi, double? bound) =>
        new(Guid.NewGuid(), "chronic-absence", Guid.NewGuid(), 3, "baseline", new DateOnly(2027, 2, 26), scorePsi, inputs, 300, DateTimeOffset.UtcNow, psi, bound);

    [Fact]
    public void An_input_past_its_bound_is_named_with_its_psi_and_the_score_that_did_not_alarm_is_given()
    {
        var body = ModelDriftDetectedConsumer.Body(Drift(0.208, ["tardies", "absence_rate"], [5.674, 0.31], 1.6));
        Assert.Equal("On 2027-02-26 input tardies of chronic-absence v3 moved from its baseline by PSI 5.67 (alarm above 1.60), over 300 students. "
            + "The score's PSI is 0.21 (alarm above 0.25). Inputs drifting significantly: tardies (PSI 5.67), absence_rate (PSI 0.31).", body);
    }

    [Fact]
    public void A_score_alarm_says_the_score_drifted_and_an_input_under_its_bound_is_only_listed()
    {
        var body = ModelDriftDetectedConsumer.Body(Drift(0.313, ["tardies"], [0.9], 1.6));
        Assert.StartsWith("On 2027-02-26 the score of chronic-absence v3 drifted from its baseline (PSI 0.31 > 0.25), over 300 students.", body);
        Assert.DoesNotContain("moved", body);
        Assert.EndsWith("Inputs drifting significantly: tardies (PSI 0.90).", body);
    }

    [Fact]
    public void An_older_publisher_without_input_psi_still_names_the_inputs()
    {
        var body = ModelDriftDetectedConsumer.Body(Drift(0.1, ["tardies"], null, null));
        Assert.Equal("On 2027-02-26 inputs of chronic-absence v3 drifted significantly from its baseline, over 300 students. "
            + "The score's PSI is 0.10 (alarm above 0.25). Inputs drifting significantly: tardies.", body);
    }
}
