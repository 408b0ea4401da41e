namespace Beacon.ServiceDefaults;

/// <summary>
/// Mobile numbers as Beacon keeps them: E.164, a '+' and 8 to 15 digits ("+15550102000"). Rosters write numbers for
/// people to read ("+1 (555) 010-2000"), so spaces, dashes and parentheses are dropped first; anything else (letters,
/// an extension, a number without its country code) is not a number an SMS gateway can send to, and is refused
/// rather than guessed at. Ingestion validates the roster's numbers with it; Notifications its directory's.
/// </summary>
public static class PhoneNumbers
{
    public const string Rule = "a phone number in E.164 form: '+', country code and number, 8 to 15 digits (e.g. +15550102000)";

    /// <summary>The E.164 form of <paramref name="text"/>, or false when it is not one.</summary>
    public static bool TryNormalize(string? text, out string e164)
    {
        e164 = "";
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        var compact = string.Concat(text.Where(c => !char.IsWhiteSpace(c) && c is not '-' and not '(' and not ')'));
        var digits = compact.Length - 1;
        if (compact.Length < 2 || compact[0] != '+' || digits is < 8 or > 15 || !compact.Skip(1).All(char.IsAsciiDigit))
        {
            return false;
        }
        e164 = compact;
        return true;
    }
}
