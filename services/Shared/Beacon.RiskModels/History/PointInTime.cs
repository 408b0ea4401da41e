namespace Beacon.RiskModels.History;

/// <summary>
/// One version of a record: its natural key, the date it is about, its value, and when Beacon came to know it (the arrival
/// of the record, or of the correction that made this version). Sequence orders versions that arrived at the same instant
/// (a day and its correction in one upload).
/// </summary>
public sealed record KnownVersion<TKey, TValue>(TKey Key, DateOnly Date, TValue Value, DateTimeOffset KnownFrom, long Sequence = 0) where TKey : notnull;

/// <summary>
/// What was known at a scoring point, for training sets without leakage: of each record, the latest version that had
/// arrived by <c>knownBy</c>, kept only when it is dated on or before <c>point</c>. A correction that arrived later is not
/// used, and neither is a record about a later day.
/// </summary>
public static class PointInTime
{
    public static IEnumerable<TValue> AsKnown<TKey, TValue>(IEnumerable<KnownVersion<TKey, TValue>> versions, DateOnly point, DateTimeOffset knownBy)
        where TKey : notnull =>
        versions.Where(v => v.KnownFrom <= knownBy)
            .GroupBy(v => v.Key)
            .Select(g => g.OrderBy(v => v.KnownFrom).ThenBy(v => v.Sequence).Last())
            .Where(v => v.Date <= point)
            .Select(v => v.Value);

    /// <summary>The end of a scoring day (UTC): what had arrived by then was known "at" the day.</summary>
    public static DateTimeOffset EndOf(DateOnly day) => new(day.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
}
