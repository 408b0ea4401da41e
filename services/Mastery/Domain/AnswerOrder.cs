using Beacon.Mastery.Storage;

namespace Beacon.Mastery.Domain;

/// <summary>
/// The one order in which a skill's steps are replayed: by the time the answer was given, ties by attempt, then in the
/// order the steps were stored. Every replay (a late answer, a voided one, a refit) uses it, so they never disagree
/// about a student's mastery.
/// </summary>
public static class AnswerOrder
{
    public static IEnumerable<MasteryStep> InAnswerOrder(this IEnumerable<MasteryStep> steps) =>
        steps.InAnswerOrder(s => (s.AnsweredAt, s.AttemptNumber, s.Id));

    /// <summary>
    /// For other shapes of a step (a projection of a few columns, a step not stored yet whose batch position stands in
    /// for the id it will get): the key names the three parts of the order.
    /// </summary>
    public static IEnumerable<T> InAnswerOrder<T>(this IEnumerable<T> steps, Func<T, (DateTimeOffset AnsweredAt, int Attempt, long StoredOrder)> key) =>
        steps.OrderBy(key);
}
