using System.Text.Json;
using FluentValidation;
using FluentValidation.Results;

namespace Beacon.Ingestion.Api;

// Batch bodies use strings for dates and enumerations so that one bad value rejects one row with a
// clear reason instead of failing the whole document at deserialisation.

public sealed record RosterBatch(List<SchoolRow>? Schools, List<StaffRow>? Staff, List<StudentRow>? Students);
public sealed record SchoolRow(string? SchoolId, string? Name);
public sealed record StaffRow(string? StaffId, string? SchoolId, string? Role, string? GivenName, string? FamilyName, string? Email);
public sealed record StudentRow(string? StudentId, string? SchoolId, string? GivenName, string? FamilyName, string? GradeLevel);

public sealed record AttendanceBatch(List<AttendanceRow>? Records);
public sealed record AttendanceRow(string? StudentId, string? Date, string? Status);

public sealed record ItemResponseBatch(List<ItemResponseRow>? Responses);
public sealed record ItemResponseRow(string? StudentId, string? ItemId, List<string>? SkillIds, bool? Correct, int? AttemptNumber,
    int? HintsUsed, double? TimeOnTaskSeconds, DateTimeOffset? AnsweredAt);

/// <summary>Outcome of a batch: valid rows are kept; each rejected row is reported by index, field and reason.</summary>
public sealed record BatchAccepted(int Accepted, int Unchanged, int Corrected);

/// <summary>Collects row errors under keys like <c>records[3].status</c> (problem-details style).</summary>
public sealed class BatchErrors
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);
    private readonly HashSet<(string, int)> _rejectedRows = [];

    public bool Any => _errors.Count > 0;
    public int RejectedRows => _rejectedRows.Count;

    public bool IsRejected(string collection, int index) => _rejectedRows.Contains((collection, index));

    public void Add(string collection, int index, string field, string reason)
    {
        var key = $"{collection}[{index}].{field}";
        if (!_errors.TryGetValue(key, out var list))
        {
            _errors[key] = list = [];
        }
        list.Add(reason);
        _rejectedRows.Add((collection, index));
    }

    /// <summary>Validates one row; returns true when it is valid.</summary>
    public bool Validate<T>(IValidator<T> validator, string collection, int index, T row)
    {
        ValidationResult result = validator.Validate(row);
        foreach (var failure in result.Errors)
        {
            Add(collection, index, JsonNamingPolicy.CamelCase.ConvertName(failure.PropertyName), failure.ErrorMessage);
        }
        return result.IsValid;
    }

    public Dictionary<string, string[]> ToDictionary() => _errors.ToDictionary(e => e.Key, e => e.Value.ToArray());
}
