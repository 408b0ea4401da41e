using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using CsvHelper;
using CsvHelper.Configuration;
using CsvHelper.TypeConversion;

namespace Beacon.Ingestion.Intake;

/// <summary>
/// Streams a CSV upload row by row (never loaded whole). Header names match the row record's property
/// names, case-insensitive, ignoring '_' and '-'. Rows that cannot be read (a value of the wrong type,
/// a ragged row) are rejected with their line number; reading goes on with the next line.
/// </summary>
public static class CsvRows
{
    /// <summary>No real field is this long; past it the file is treated as broken and reading stops.</summary>
    public const int MaxFieldChars = 1 << 20;

    public static async IAsyncEnumerable<Positioned<TRow>> ReadAsync<TRow>(Stream body, RowErrors errors, [EnumeratorCancellation] CancellationToken ct)
    {
        // Bytes that are not UTF-8 become U+FFFD here and reject their own line (below), not the whole file.
        using var reader = new StreamReader(body, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false));
        var config = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            PrepareHeaderForMatch = args => args.Header.Replace("_", "").Replace("-", "").ToLowerInvariant(),
            MissingFieldFound = null,
            HeaderValidated = null,
            DetectColumnCountChanges = true,
            TrimOptions = TrimOptions.Trim,
            MaxFieldSize = MaxFieldChars,
        };
        using var csv = new CsvReader(reader, config);
        csv.Context.TypeConverterCache.AddConverter<List<string>>(new SkillListConverter());
        foreach (var options in new[] { csv.Context.TypeConverterOptionsCache.GetOptions<bool>(), csv.Context.TypeConverterOptionsCache.GetOptions<bool?>() })
        {
            options.BooleanTrueValues.Add("1");
            options.BooleanFalseValues.Add("0");
        }

        // A record starts on the line after the previous one ended (a quoted field may span lines).
        var line = 1;
        var lastEnd = 1;
        if (!await csv.ReadAsync() || !csv.ReadHeader())
        {
            errors.Add("lines[1]", "", "header", "the file is empty; the first line must name the columns.");
            yield break;
        }

        while (true)
        {
            ct.ThrowIfCancellationRequested();
            TRow? row = default;
            var ok = false;
            try
            {
                line = lastEnd + 1;
                if (!await csv.ReadAsync())
                {
                    break;
                }
                if (csv.Parser.RawRecord.Contains('\uFFFD'))
                {
                    errors.Add($"lines[{line}]", Raw(csv), "row", "contains bytes that are not UTF-8 text.");
                    continue;
                }
                row = csv.GetRecord<TRow>();
                ok = row is not null;
            }
            catch (TypeConverterException ex)
            {
                var field = ex.MemberMapData?.Member?.Name is { } name ? char.ToLowerInvariant(name[0]) + name[1..] : "row";
                errors.Add($"lines[{line}]", Raw(csv), field, $"'{Truncate(ex.Text)}' is not a valid value.");
            }
            catch (BadDataException ex)
            {
                errors.Add($"lines[{line}]", Raw(csv), "row",
                    csv.Parser.RawRecord.Contains('\uFFFD') ? "contains bytes that are not UTF-8 text." : ex.Message.Split('\n')[0]);
            }
            catch (MaxFieldSizeException)
            {
                errors.Add($"lines[{line}]", "", "row", $"has a field longer than {MaxFieldChars} characters; the rest of the file was not read.");
                break;
            }
            catch (CsvHelperException ex)
            {
                errors.Add($"lines[{line}]", Raw(csv), "row", Truncate((ex.InnerException ?? ex).Message.Split('\n')[0], 300));
            }
            lastEnd = csv.Parser.RawRow;
            if (ok)
            {
                yield return new Positioned<TRow>($"lines[{line}]", row!);
            }
        }
    }

    private static string Raw(CsvReader csv) => Truncate(csv.Parser.RawRecord?.TrimEnd('\r', '\n') ?? "", 2000);

    private static string Truncate(string? text, int max = 80) =>
        text is null ? "" : text.Length <= max ? text : text[..max] + "…";

    /// <summary>Skills in one CSV cell: "fractions;decimals".</summary>
    private sealed class SkillListConverter : DefaultTypeConverter
    {
        public override object? ConvertFromString(string? text, IReaderRow row, MemberMapData memberMapData) =>
            string.IsNullOrWhiteSpace(text) ? null : text.Split([';', '|'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
    }
}
