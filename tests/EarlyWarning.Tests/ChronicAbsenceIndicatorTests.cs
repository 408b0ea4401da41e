using Beacon.EarlyWarning.Domain;

namespace Beacon.EarlyWarning.Tests;

public class ChronicAbsenceIndicatorTests
{
    private static readonly ChronicAbsenceOptions Options = new() { Threshold = 0.10, MinimumDays = 10, CountExcusedAbsences = true };

    /// <summary>Replays days in order and returns the day numbers (1-based) on which an alert is due.</summary>
    private static List<int> AlertDays(IEnumerable<string> days, ChronicAbsenceOptions options)
    {
        var seen = new List<string>();
        var wasChronic = false;
        var alerts = new List<int>();
        foreach (var status in days)
        {
            seen.Add(status);
            var reading = ChronicAbsenceIndicator.Evaluate(ChronicAbsenceIndicator.Summarize(seen, options), options);
            if (ChronicAbsenceIndicator.IsCrossingIn(wasChronic, reading))
            {
                alerts.Add(seen.Count);
            }
            wasChronic = reading.ChronicallyAbsent;
        }
        return alerts;
    }

    private static IEnumerable<string> Days(string pattern) =>
        pattern.Select(c => c switch { 'P' => "present", 'A' => "absent", 'T' => "tardy", 'E' => "excused-absent", _ => throw new ArgumentException(c.ToString()) });

    [Fact]
    public void Crossing_in_raises_once_and_later_absences_raise_nothing()
    {
        // 10 days with 2 absences (20 %) -> alert on day 10 (the minimum); more absences keep it chronic, no new alert.
        var alerts = AlertDays(Days("PAPPPPPPAPAAPA"), Options);
        Assert.Equal([10], alerts);
    }

    [Fact]
    public void Crossing_back_out_and_in_again_raises_a_new_alert()
    {
        // Chronic at day 10 (1 of 10 = 10 %), out at day 11 (1 of 11 = 9.1 %), back in at day 13 (2 of 13 = 15 %).
        var alerts = AlertDays(Days("APPPPPPPPPPPA"), Options);
        Assert.Equal([10, 13], alerts);
    }

    [Fact]
    public void Nothing_is_raised_before_the_minimum_number_of_days()
    {
        var reading = ChronicAbsenceIndicator.Evaluate(ChronicAbsenceIndicator.Summarize(Days("AAAAA"), Options), Options);
        Assert.False(reading.ChronicallyAbsent);
        Assert.Equal(1.0, reading.Summary.AbsenceRate);
        Assert.Contains("starts after 10", reading.Explanation);
        Assert.Empty(AlertDays(Days("AAAAAAAAA"), Options));
        Assert.Equal([10], AlertDays(Days("AAAAAAAAAA"), Options));
    }

    [Fact]
    public void Excused_absences_count_by_default_and_can_be_left_out()
    {
        var days = Days("EEPPPPPPPPPP").ToList();
        var counting = ChronicAbsenceIndicator.Evaluate(ChronicAbsenceIndicator.Summarize(days, Options), Options);
        Assert.True(counting.ChronicallyAbsent);
        Assert.Equal(2, counting.Summary.DaysAbsent);

        var unexcusedOnly = new ChronicAbsenceOptions { Threshold = 0.10, MinimumDays = 10, CountExcusedAbsences = false };
        var notCounting = ChronicAbsenceIndicator.Evaluate(ChronicAbsenceIndicator.Summarize(days, unexcusedOnly), unexcusedOnly);
        Assert.False(notCounting.ChronicallyAbsent);
        Assert.Equal(0, notCounting.Summary.DaysAbsent);
    }

    [Fact]
    public void Tardy_is_present_and_the_explanation_speaks_in_days()
    {
        var reading = ChronicAbsenceIndicator.Evaluate(ChronicAbsenceIndicator.Summarize(Days("TTTTTTTTAA"), Options), Options);
        Assert.Equal(new AttendanceSummary(10, 2), reading.Summary);
        Assert.Equal("Missed 2 of 10 school days so far (20 %); at or above the 10 % chronic-absence line.", reading.Explanation);
    }
}
