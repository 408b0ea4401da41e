namespace Beacon.Mastery.Domain;

/// <summary>
/// The Bayesian Knowledge Tracing parameters of one skill: P(known before the first attempt), P(learn at
/// an attempt), P(correct while not known), P(wrong while known) and, optionally, P(forget at an attempt).
/// </summary>
public sealed record BktParameters(double PriorKnowledge, double Learn, double Guess, double Slip, double Forget = 0)
{
    public BktParameters() : this(0.3, 0.15, 0.2, 0.1) { }

    /// <summary>The chance of a correct answer for a student whose mastery is <paramref name="probabilityMastered"/>.</summary>
    public double PredictCorrect(double probabilityMastered) =>
        probabilityMastered * (1 - Slip) + (1 - probabilityMastered) * Guess;
}

public sealed class MasteryOptions
{
    /// <summary>A student has mastered a skill at this probability or above.</summary>
    public double MasteredAt { get; set; } = 0.95;

    /// <summary>Struggling: still below <see cref="StrugglingBelow"/> after this many attempts...</summary>
    public int StrugglingAfterAttempts { get; set; } = 5;

    public double StrugglingBelow { get; set; } = 0.6;

    /// <summary>...or fallen this far below the highest mastery the student had reached on the skill.</summary>
    public double StrugglingFall { get; set; } = 0.2;

    /// <summary>A skill is refitted only from at least this many responses (else it keeps its parameters).</summary>
    public int MinimumResponsesToFit { get; set; } = 50;

    /// <summary>Refit all skills this often in the background; null (the default) = only on request.</summary>
    public TimeSpan? RefitEvery { get; set; }

    /// <summary>Fit the per-skill forgetting parameter too (BKT+forgets).</summary>
    public bool FitForgetting { get; set; }

    /// <summary>
    /// The ceiling for a fitted slip. Left at the fitter's 0.49, EM settles on "known but slips" for some skills and
    /// mastery reaches 95 %+ with most answers wrong: on ASSISTments 2009 5.1 % of held-out skills with 5+ answers, 1.4 %
    /// with slip ≤ 0.10, while AUC rises from 0.740 to 0.751 (`./beacon eval assistments`, bench/RESULTS.md).
    /// </summary>
    public double MaxSlip { get; set; } = 0.10;

    public BktParameters DefaultParameters { get; set; } = new();

    public bool IsStruggling(double probability, double peak, int attempts) =>
        probability < MasteredAt
        && ((attempts >= StrugglingAfterAttempts && probability < StrugglingBelow) || peak - probability >= StrugglingFall);
}

/// <summary>Standard BKT: Bayes' rule on the observed answer, then the transition (learning, and forgetting if fitted).</summary>
public static class KnowledgeTracing
{
    public static double Update(double probabilityMastered, bool correct, BktParameters p)
    {
        var known = probabilityMastered;
        var posterior = correct
            ? known * (1 - p.Slip) / (known * (1 - p.Slip) + (1 - known) * p.Guess)
            : known * p.Slip / (known * p.Slip + (1 - known) * (1 - p.Guess));
        return posterior * (1 - p.Forget) + (1 - posterior) * p.Learn;
    }
}
