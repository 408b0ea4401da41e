using Beacon.EarlyWarning.Domain;

namespace Beacon.EarlyWarning.Tests;

/// <summary>The extract's generalization ladder on rows whose classes are known: where it stops, what it suppresses, the bands.</summary>
public sealed class KAnonymityTests
{
    private static readonly string[] Names = ["school_id", "grade_level", "sex", "race_ethnicity", "economically_disadvantaged", "english_learner", "disability"];

    // Three grade-9 white girls, two grade-10 white girls and one grade-9 girl of a category no one else has, all of one school.
    private static readonly string[][] Rows =
    [
        .. Enumerable.Repeat<string[]>(["north", "09", "F", "white", "true", "false", "false"], 3),
        .. Enumerable.Repeat<string[]>(["north", "10", "F", "white", "true", "false", "false"], 2),
        ["north", "09", "F", "pacific-islander", "true", "false", "false"],
    ];

    [Fact]
    public void Without_room_to_suppress_it_generalizes_until_every_class_has_k_rows()
    {
        var result = KAnonymity.Generalize(Names, Rows, k: 3, maxSuppressedShare: 0);
        Assert.Equal(4, result.Steps.Count);
        Assert.StartsWith("race_ethnicity: 1 categories", result.Steps[0]);
        Assert.StartsWith("grade_level: grades banded", result.Steps[1]);
        Assert.StartsWith("school_id:", result.Steps[2]);
        Assert.Equal("race_ethnicity: removed ('*')", result.Steps[3]);
        Assert.Equal((0, 6), (result.SuppressedCount, result.SmallestClass));
        Assert.All(result.Rows, r => Assert.Equal(["district", "9-12", "F", "*", "true", "false", "false"], r));
        Assert.Equal("pacific-islander", Rows[5][3]);   // the input is left as it was
    }

    [Fact]
    public void With_room_to_suppress_one_row_it_stops_earlier_and_suppresses_the_rare_one()
    {
        var result = KAnonymity.Generalize(Names, Rows, k: 3, maxSuppressedShare: 0.2);
        Assert.Equal(2, result.Steps.Count);
        Assert.Equal([false, false, false, false, false, true], result.Suppressed);
        Assert.Equal((1, 5), (result.SuppressedCount, result.SmallestClass));
        Assert.Equal(["north", "9-12", "F", "other", "true", "false", "false"], result.Rows[5]);
    }

    [Fact]
    public void Rows_already_k_anonymous_are_released_as_they_are()
    {
        var result = KAnonymity.Generalize(Names, Rows[..3], k: 3, maxSuppressedShare: 0);
        Assert.Empty(result.Steps);
        Assert.Equal((0, 3), (result.SuppressedCount, result.SmallestClass));
        Assert.Equal(Rows[0], result.Rows[0]);
    }

    [Theory]
    [InlineData("KG", "PK-5")]
    [InlineData("PK", "PK-5")]
    [InlineData("05", "PK-5")]
    [InlineData("06", "6-8")]
    [InlineData("8", "6-8")]
    [InlineData("12", "9-12")]
    [InlineData("UG", "other")]
    [InlineData("unknown", "unknown")]
    public void Grades_fall_in_school_bands(string grade, string band) => Assert.Equal(band, KAnonymity.GradeBand(grade));
}
