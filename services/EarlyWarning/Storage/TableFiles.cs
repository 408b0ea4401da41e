using System.Globalization;
using System.Text;
using CsvHelper;
using CsvHelper.Configuration;
using Parquet;
using Parquet.Schema;

namespace Beacon.EarlyWarning.Storage;

public enum ColumnType
{
    Text,
    Integer,
    Number,
    Date,
    Boolean,
}

/// <summary>A column of a table file: its name and what its cells hold (null is an empty CSV cell, a Parquet null).</summary>
public sealed record TableColumn(string Name, ColumnType Type);

/// <summary>
/// Writes rows as CSV or Parquet, the two formats of the analyst profile and the research extract, from one list of columns
/// so both formats carry the same table. CSV goes out row by row; Parquet a row group of <see cref="RowGroupSize"/> rows at a
/// time (its footer needs a seekable stream, so the caller gives one: a temporary file or memory).
/// </summary>
public static class TableFiles
{
    public const int RowGroupSize = 10_000;

    // A cell that begins with =, +, -, @, tab or CR gets a leading apostrophe (as Ingestion's CSV answers): a name the roster
    // sent cannot run as a formula when the file is opened in a spreadsheet.
    private static readonly CsvConfiguration Csv = new(CultureInfo.InvariantCulture) { InjectionOptions = InjectionOptions.Escape };

    public static string ContentType(string format) => format == "parquet" ? "application/vnd.apache.parquet" : "text/csv; charset=utf-8";

    public static async Task WriteCsvAsync(Stream output, IReadOnlyList<TableColumn> columns, IAsyncEnumerable<object?[]> rows, CancellationToken ct)
    {
        await using var text = new StreamWriter(output, new UTF8Encoding(false), 64 * 1024, leaveOpen: true);
        await using var csv = new CsvWriter(text, Csv);
        foreach (var column in columns)
        {
            csv.WriteField(column.Name);
        }
        await csv.NextRecordAsync();
        await foreach (var row in rows.WithCancellation(ct))
        {
            for (var i = 0; i < columns.Count; i++)
            {
                csv.WriteField(Cell(row[i]));
            }
            await csv.NextRecordAsync();
        }
        await csv.FlushAsync();
    }

    public static async Task WriteParquetAsync(Stream seekable, IReadOnlyList<TableColumn> columns, IAsyncEnumerable<object?[]> rows, CancellationToken ct)
    {
        var fields = columns.Select(Field).ToArray();
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), seekable, cancellationToken: ct);
        var group = new List<object?[]>(RowGroupSize);
        var any = false;
        await foreach (var row in rows.WithCancellation(ct))
        {
            group.Add(row);
            if (group.Count == RowGroupSize)
            {
                await WriteGroupAsync(writer, fields, columns, group, ct);
                (group, any) = ([], true);
            }
        }
        if (group.Count > 0 || !any)
        {
            await WriteGroupAsync(writer, fields, columns, group, ct);   // an empty year still gets its schema and one empty group
        }
    }

    private static DataField Field(TableColumn column) => column.Type switch
    {
        ColumnType.Integer => new DataField<int?>(column.Name),
        ColumnType.Number => new DataField<double?>(column.Name),
        ColumnType.Date => new DataField<DateOnly?>(column.Name),
        ColumnType.Boolean => new DataField<bool?>(column.Name),
        _ => new DataField<string>(column.Name, nullable: true),
    };

    private static async Task WriteGroupAsync(ParquetWriter writer, DataField[] fields, IReadOnlyList<TableColumn> columns, List<object?[]> rows, CancellationToken ct)
    {
        using var group = writer.CreateRowGroup();
        for (var i = 0; i < fields.Length; i++)
        {
            var c = i;
            Task Values<T>() where T : struct => group.WriteAsync<T>(fields[c], rows.Select(r => (T?)r[c]).ToArray(), cancellationToken: ct);
            await (columns[c].Type switch
            {
                ColumnType.Integer => Values<int>(),
                ColumnType.Number => Values<double>(),
                ColumnType.Date => Values<DateOnly>(),
                ColumnType.Boolean => Values<bool>(),
                _ => group.WriteAsync(fields[c], rows.Select(r => (string?)r[c]).ToArray()!),
            });
        }
        group.CompleteValidate();
    }

    private static string Cell(object? value) => value switch
    {
        null => "",
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        double x => x.ToString("0.####", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
