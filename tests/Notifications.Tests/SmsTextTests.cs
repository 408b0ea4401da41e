using Beacon.Notifications.Domain;
using Beacon.Notifications.Storage;
using Beacon.ServiceDefaults;

namespace Beacon.Notifications.Tests;

/// <summary>What a text message may say (no student's name, 160 plain characters, the link whole) and which numbers are numbers.</summary>
public sealed class SmsTextTests
{
    private static Delivery Item(string kind, string studentId, string? shortText) => new()
    {
        StaffId = "c1",
        SourceEventId = Guid.NewGuid(),
        Channel = Channels.Sms,
        Kind = kind,
        StudentId = studentId,
        Title = "José Álvarez-Núñez, grade 9, sch-1 — needs a look",
        Body = "Missed 4 of 20 school days.",
        ShortText = shortText,
    };

    [Theory]
    [InlineData("José Álvarez-Núñez", "s1", "9", "J.A.N., grade 9")]
    [InlineData("Łukasz Nowak", "s1", "", "L.N.")]          // transliterated: a text is plain ASCII
    [InlineData("s1", "s1", "10", "a student in grade 10")]  // the roster did not know the student: the label was their id
    [InlineData("s1", "s1", "", "a student")]
    public void A_student_is_initials_and_grade_at_most(string name, string studentId, string grade, string expected) =>
        Assert.Equal(expected, SmsText.Student(name, studentId, grade));

    [Fact]
    public void A_text_is_the_short_line_and_the_link_never_the_title()
    {
        var text = SmsText.Compose([Item(EventKinds.RiskAlert, "s-1", "J.A.N., grade 9: needs a look")], "https://beacon.example.org/");
        Assert.Equal("Beacon: J.A.N., grade 9: needs a look. https://beacon.example.org/#/student/s-1", text);
        Assert.Equal("Beacon: new risk alert notice. /#/student/s-1", SmsText.Compose([Item(EventKinds.RiskAlert, "s-1", null)], ""));
        Assert.Equal("Beacon: 2 new notifications. https://b.example/", SmsText.Compose(
            [Item(EventKinds.RiskAlert, "s-1", "x"), Item(EventKinds.CaseOverdue, "s-2", "y")], "https://b.example"));
        Assert.EndsWith("/#/ops", SmsText.Compose([Item(EventKinds.ModelDrift, "", "Model drift: chronic-absence v3")], "https://b.example"));
    }

    [Fact]
    public void A_long_line_is_cut_to_fit_160_characters_and_the_link_stays_whole()
    {
        var link = "https://beacon.example.org/#/student/" + new string('x', 40);
        var text = SmsText.Compose([Item(EventKinds.RiskAlert, new string('x', 40), "Ä " + new string('w', 300))], "https://beacon.example.org");
        Assert.InRange(text.Length, SmsText.MaxLength - 1, SmsText.MaxLength);
        Assert.EndsWith("www... " + link, text);
        Assert.All(text, c => Assert.InRange(c, ' ', '~'));
    }

    [Theory]
    [InlineData("+1 (555) 010-2000", "+15550102000")]
    [InlineData("+44 20 7946 0958", "+442079460958")]
    [InlineData("+3361234567", "+3361234567")]
    public void Numbers_in_e164_after_spaces_dashes_and_parentheses(string written, string e164)
    {
        Assert.True(PhoneNumbers.TryNormalize(written, out var normalized));
        Assert.Equal(e164, normalized);
    }

    [Theory]
    [InlineData("555-0199")]            // no country code
    [InlineData("+1234567")]            // 7 digits
    [InlineData("+1234567890123456")]   // 16 digits
    [InlineData("+1 555 010 2000 x12")] // an extension
    [InlineData("+1.555.010.2000")]     // dots are not among what is dropped
    [InlineData("")]
    public void Anything_else_is_not_a_number(string written) => Assert.False(PhoneNumbers.TryNormalize(written, out _));
}
