using System.Text.Json;
using FluentValidation;

namespace Beacon.Ingestion.Intake;

/// <summary>A row and where it came from: "records[3]" in a JSON batch, "lines[5]" (1-based file line) in a CSV upload.</summary>
public readonly record struct Positioned<TRow>(string Position, TRow Row);

/// <summary>
/// One row with errors: where, its raw content (for the quarantine), and every reason. Kept: only optional fields were wrong,
/// so the row was stored without them (<see cref="RowErrors.AddKept"/>); it is reported and quarantined, not counted rejected.
/// </summary>
public sealed record RejectedRow(string Position, string Raw, List<(string Field, string Reason)> Reasons)
{
    public bool Kept { get; set; }
}

/// <summary>
/// Collects row errors under keys like <c>records[3].status</c> (problem-details style) and keeps the
/// rejected rows so they can be quarantined. Only the first <see cref="MaxReported"/> rows are echoed in
/// a response; all of them are quarantined.
/// </summary>
public sealed class RowErrors
{
    public const int MaxReported = 1000;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly Dictionary<string, RejectedRow> _rows = new(StringComparer.Ordinal);
    private List<RejectedRow> _pending = [];

    // What Add changed since the last Mark (null until one is taken), so RollBack can undo it.
    private List<(RejectedRow Row, bool Added, int Reasons, bool Kept)>? _journal;

    /// <summary>Where the errors stood before a chunk was processed (see <see cref="RollBack"/>).</summary>
    public sealed record Checkpoint(List<RejectedRow> Pending);

    public int RejectedRows => _rows.Values.Count(r => !r.Kept);

    /// <summary>Rows stored without an optional field that was wrong (a staff member's phone number): reported, not rejected.</summary>
    public int KeptRows => _rows.Values.Count(r => r.Kept);
    public bool Any => _rows.Count > 0;
    public IEnumerable<RejectedRow> All => _rows.Values;

    public bool IsRejected(string position) => _rows.ContainsKey(position);

    public void Add(string position, string raw, string field, string reason)
    {
        var added = !_rows.TryGetValue(position, out var found);
        var row = found ?? new RejectedRow(position, raw, []);
        if (added)
        {
            _rows[position] = row;
            _pending.Add(row);
        }
        _journal?.Add((row, added, row.Reasons.Count, row.Kept));
        row.Kept = false;   // any error of a required field rejects the row, whatever was said about it before
        row.Reasons.Add((field, reason));
    }

    /// <summary>
    /// An optional field was wrong and left out, the rest of the row was stored: the reason is reported under the row's
    /// position like any row error (and quarantined, so ops see it), but the row does not count as rejected.
    /// </summary>
    public void AddKept<TRow>(Positioned<TRow> row, string field, string reason)
    {
        var kept = !_rows.TryGetValue(row.Position, out var before) || before.Kept;
        Add(row, field, reason);
        _rows[row.Position].Kept = kept;
    }

    public void Add<TRow>(Positioned<TRow> row, string field, string reason) =>
        Add(row.Position, JsonSerializer.Serialize(row.Row, Json), field, reason);

    /// <summary>Validates one row; returns true when it is valid.</summary>
    public bool Validate<TRow>(IValidator<TRow> validator, Positioned<TRow> row)
    {
        var result = validator.Validate(row.Row);
        foreach (var failure in result.Errors)
        {
            Add(row, JsonNamingPolicy.CamelCase.ConvertName(failure.PropertyName), failure.ErrorMessage);
        }
        return result.IsValid;
    }

    /// <summary>Rows rejected since the last call (to quarantine them chunk by chunk).</summary>
    public List<RejectedRow> TakePending()
    {
        var taken = _pending.ToList();
        _pending.Clear();
        return taken;
    }

    /// <summary>Starts recording what is added, so a chunk processed again can first take its own errors back.</summary>
    public Checkpoint Mark()
    {
        _journal = [];
        return new Checkpoint([.. _pending]);
    }

    /// <summary>
    /// Takes back every error added since <paramref name="mark"/> and what was pending then is pending again: the chunk
    /// is processed again (a concurrent batch stored one of its keys first) and reports its rows once.
    /// </summary>
    public void RollBack(Checkpoint mark)
    {
        for (var i = (_journal?.Count ?? 0) - 1; i >= 0; i--)
        {
            var (row, added, reasons, kept) = _journal![i];
            if (added)
            {
                _rows.Remove(row.Position);
                continue;
            }
            row.Reasons.RemoveRange(reasons, row.Reasons.Count - reasons);
            row.Kept = kept;
        }
        _journal = [];
        _pending = [.. mark.Pending];
    }

    /// <summary>Rejections counted by field, for the data-quality report.</summary>
    public Dictionary<string, int> CountByField() =>
        _rows.Values.SelectMany(r => r.Reasons.Select(x => x.Field).Distinct())
            .GroupBy(f => f).ToDictionary(g => g.Key, g => g.Count());

    public Dictionary<string, string[]> ToProblemErrors() =>
        _rows.Values.Take(MaxReported)
            .SelectMany(r => r.Reasons.Select(x => (Key: $"{r.Position}.{x.Field}", x.Reason)))
            .GroupBy(x => x.Key)
            .ToDictionary(g => g.Key, g => g.Select(x => x.Reason).ToArray());
}
