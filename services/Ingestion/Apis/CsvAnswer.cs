using System.Globalization;
using System.Text;
using CsvHelper;
using CsvHelper.Configuration;

namespace Beacon.Ingestion.Apis;

/// <summary>
/// A CSV download (RFC 4180, UTF-8 with a byte-order mark so a spreadsheet reads accents right). A cell that begins
/// with =, +, -, @, tab or carriage return is escaped with a leading apostrophe (CsvHelper's injection escaping), so
/// a name or source a feed sent cannot run as a formula when staff open the file.
/// </summary>
public static class CsvAnswer
{
    private static readonly CsvConfiguration Settings = new(CultureInfo.InvariantCulture) { InjectionOptions = InjectionOptions.Escape };

    public static IResult Of(string fileName, IReadOnlyList<string> header, IEnumerable<object[]> rows)
    {
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        using (var csv = new CsvWriter(text, Settings))
        {
            foreach (var name in header)
            {
                csv.WriteField(name);
            }
            csv.NextRecord();
            foreach (var row in rows)
            {
                foreach (var cell in row)
                {
                    csv.WriteField(cell);
                }
                csv.NextRecord();
            }
        }
        var bytes = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes(text.ToString())).ToArray();
        return Results.File(bytes, "text/csv; charset=utf-8", fileName);
    }
}
