using AnyAscii;
using Beacon.Notifications.Storage;

namespace Beacon.Notifications.Domain;

/// <summary>
/// What a text message says. SMS is not a private channel: a text shows on a locked phone's screen, stays in the
/// carrier's and the SMS provider's logs, and phones are shared, lost and backed up to personal accounts. So a text
/// never names a student: at most their initials and grade, what happened in a few words, and a link to the dashboard,
/// where signing in shows the rest. It is plain ASCII and at most <see cref="MaxLength"/> characters (one SMS segment,
/// so it arrives as one message); the line is cut if it must be, the link never.
/// </summary>
public static class SmsText
{
    public const int MaxLength = 160;
    private const string Prefix = "Beacon: ";

    /// <summary>"D.F." for "D Four"; empty when the name is unknown (then the caller has only the student's id, which is not shown).</summary>
    public static string Initials(string name) =>
        string.Concat(Plain(name).Split([' ', '-', '\''], StringSplitOptions.RemoveEmptyEntries).Take(3)
            .Where(part => char.IsAsciiLetter(part[0])).Select(part => char.ToUpperInvariant(part[0]) + "."));

    /// <summary>A student as a text may name them: "D.F., grade 9", or "a student" when neither initials nor grade are known.</summary>
    public static string Student(string name, string studentId, string gradeLevel)
    {
        var initials = name == studentId ? "" : Initials(name);
        var grade = gradeLevel.Length > 0 ? $"grade {Plain(gradeLevel)}" : "";
        return (initials, grade) switch
        {
            ("", "") => "a student",
            ("", _) => $"a student in {grade}",
            (_, "") => initials,
            _ => $"{initials}, {grade}",
        };
    }

    /// <summary>
    /// The whole text for one delivery or a digest of several: "Beacon: {short}. {link}". Only <see cref="Delivery.ShortText"/>
    /// is used, never the title or body (they carry the student's name).
    /// </summary>
    public static string Compose(IReadOnlyList<Delivery> items, string dashboardUrl)
    {
        var line = items.Count == 1
            ? Plain(items[0].ShortText is { Length: > 0 } s ? s : $"new {items[0].Kind.Replace('-', ' ')} notice")
            : $"{items.Count} new notifications";
        var students = items.Select(i => i.StudentId).Distinct().ToList();
        var path = students is [{ Length: > 0 } one] ? $"/#/student/{Uri.EscapeDataString(one)}"
            : items.All(i => EventKinds.Ops.Contains(i.Kind)) ? "/#/ops"
            : "/";
        var link = dashboardUrl.TrimEnd('/') + path;
        if (link.Length > MaxLength / 2)
        {
            link = dashboardUrl.Length is > 0 and <= MaxLength / 2 ? dashboardUrl : "";   // a link too long to fit is no use; the address alone
        }
        var room = MaxLength - Prefix.Length - 2 - link.Length;   // ". " before the link
        if (line.Length > room)
        {
            line = line[..Math.Max(0, room - 3)].TrimEnd() + "...";
        }
        var stop = line.EndsWith('.') ? "" : ".";   // "D.F." or a cut line ends in its own full stop
        return $"{Prefix}{line}{stop}{(link.Length > 0 ? " " + link : "")}";
    }

    /// <summary>
    /// Printable ASCII only, so one character is one in the segment: transliterated ("José Łukasz" → "Jose Lukasz"; AnyAscii,
    /// since with invariant globalization string.Normalize does not decompose accents), anything left a space.
    /// </summary>
    private static string Plain(string text) =>
        string.Join(' ', string.Concat(text.Transliterate().Select(c => c is >= ' ' and <= '~' ? c : ' '))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries));
}
