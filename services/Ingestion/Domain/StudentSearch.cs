using AnyAscii;

namespace Beacon.Ingestion.Domain;

/// <summary>
/// How staff find a student by name or id. Each student carries a search key (<see cref="Student.SearchKey"/>):
/// family name, given name and id, lower-cased and without accents, kept in a column so the database does the
/// matching. Folding in C# rather than with SQL lower() matters: SQLite's lower() only folds ASCII, and neither
/// database drops accents without an extension, so "jose" would not find "José" and "ÉLODIE" would not find "Élodie".
/// </summary>
public static class StudentSearch
{
    public const int MinQueryLength = 2;
    public const int MaxQueryLength = 100;
    public const int DefaultLimit = 25;
    public const int MaxLimit = 100;

    /// <summary>
    /// The student's search key: "family given id", folded. Family name first, so ordering by the key lists students
    /// the way rosters do, the same on SQLite and PostgreSQL (whose collations order "Á" differently).
    /// </summary>
    public static string Key(string givenName, string familyName, string studentId) =>
        Fold($"{familyName} {givenName} {studentId}");

    /// <summary>
    /// The words of a query, folded: every word must occur somewhere in the key (in any order), so "smith ann",
    /// "Ann Smith" and "Smith, Ann" find the same student, and "stu-01" finds every id that contains it.
    /// </summary>
    public static IReadOnlyList<string> Words(string query) =>
        Fold(query).Split([' ', ','], StringSplitOptions.RemoveEmptyEntries).Distinct().ToList();

    /// <summary>
    /// Transliterated to ASCII (é → e, ß → ss, ø → o, Nguyễn → nguyen; AnyAscii, because the services run with invariant
    /// globalization, where string.Normalize does not decompose accents), lower case, runs of white space made one space.
    /// </summary>
    public static string Fold(string text) =>
        string.Join(' ', text.Transliterate().ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
}
