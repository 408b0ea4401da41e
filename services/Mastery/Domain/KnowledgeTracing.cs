namespace Beacon.Mastery.Domain;

/// <summary>The four Bayesian Knowledge Tracing parameters of one skill.</summary>
public sealed record BktParameters(double PriorKnowledge, double Learn, double Guess, double Slip)
{
    public BktParameters() : this(0.3, 0.15, 0.2, 0.1) { }
}

public sealed class MasteryOptions
{
    /// <summary>A student has mastered a skill at this probability or above.</summary>
    public double MasteredAt { get; set; } = 0.95;
    public BktParameters DefaultParameters { get; set; } = new();
}

/// <summary>Standard BKT: Bayes' rule on the observed answer, then the chance of learning at this opportunity.</summary>
public static class KnowledgeTracing
{
    public static double Update(double probabilityMastered, bool correct, BktParameters p)
    {
        var known = probabilityMastered;
        var posterior = correct
            ? known * (1 - p.Slip) / (known * (1 - p.Slip) + (1 - known) * p.Guess)
            : known * p.Slip / (known * p.Slip + (1 - known) * (1 - p.Guess));
        return posterior + (1 - posterior) * p.Learn;
    }
}
