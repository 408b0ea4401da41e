namespace Beacon.RiskModels;

/// <summary>
/// The named inputs of one model kind, plus how to say each one to a counselor. A model file stores
/// only a float vector; this is what gives each position its meaning.
/// </summary>
public sealed class FeatureSet(string kind, IReadOnlyList<FeatureDefinition> features)
{
    public string Kind { get; } = kind;
    public IReadOnlyList<FeatureDefinition> Features { get; } = features;
    public IReadOnlyList<string> Names => Features.Select(f => f.Name).ToArray();
    public int Count => Features.Count;

    public int IndexOf(string name)
    {
        for (var i = 0; i < Features.Count; i++)
        {
            if (Features[i].Name == name)
            {
                return i;
            }
        }
        throw new ArgumentException($"Feature set '{Kind}' has no feature '{name}'.", nameof(name));
    }

    /// <summary>A counselor's sentence for feature <paramref name="index"/> given the whole vector.</summary>
    public string Describe(int index, IReadOnlyList<float> values) => Features[index].Describe(values, this);
}

/// <param name="Name">Stable name, stored with the model as its schema.</param>
/// <param name="Describe">Plain words for this feature's value, e.g. "missed 7 of the last 10 school days".</param>
/// <param name="Leaning">
/// Which way the words for this value lean (see <see cref="ReasonLeaning"/>); null: <see cref="ReasonLeaning.Either"/>. A
/// feature that is bookkeeping (days recorded) or a zero count says <see cref="ReasonLeaning.NotAReason"/>.
/// </param>
public sealed record FeatureDefinition(string Name, Func<IReadOnlyList<float>, FeatureSet, string> Describe,
    Func<IReadOnlyList<float>, FeatureSet, ReasonLeaning>? Leaning = null)
{
    /// <summary>
    /// Whether this feature, at these values, may be shown as a reason for a contribution of this sign: never when it is
    /// not a reason, and never when its words point the other way ("absent less often lately" is not said to raise
    /// risk, even if the model leans on it so; it is left out rather than told wrong).
    /// </summary>
    public bool IsReason(IReadOnlyList<float> values, FeatureSet set, double contribution) =>
        contribution != 0 && (Leaning?.Invoke(values, set) ?? ReasonLeaning.Either) switch
        {
            ReasonLeaning.NotAReason => false,
            ReasonLeaning.RaisesRisk => contribution > 0,
            ReasonLeaning.LowersRisk => contribution < 0,
            _ => true,
        };

    /// <summary>For a count: zero is no reason, anything else is a plain fact that may go either way.</summary>
    public static Func<IReadOnlyList<float>, FeatureSet, ReasonLeaning> CountOf(string name) =>
        (f, s) => Math.Round(f[s.IndexOf(name)]) == 0 ? ReasonLeaning.NotAReason : ReasonLeaning.Either;
}

/// <summary>Which way a feature's words lean at a value, so the direction said beside them cannot contradict them.</summary>
public enum ReasonLeaning
{
    /// <summary>Plain facts ("late 2 times"): true beside either direction.</summary>
    Either,

    /// <summary>Words of risk ("absent more often lately"): shown only when the model raises risk on it.</summary>
    RaisesRisk,

    /// <summary>Words of reassurance ("absent less often lately"): shown only when the model lowers risk on it.</summary>
    LowersRisk,

    /// <summary>Bookkeeping, or a zero count: never a reason.</summary>
    NotAReason,
}

/// <summary>
/// One student (at one prediction date) with the features known then and what happened later. <paramref name="Point"/>
/// is the school day of the year the features were cut at, where the set knows it: drift compares what is served at a
/// point of the year with what the model learnt at the same point.
/// </summary>
public sealed record LabelledExample(string Id, float[] Features, bool Label, int? Point = null);

/// <summary>A transparent, ABC-style rule on the same features: a score to rank by and a yes/no flag.</summary>
public sealed record RuleBaseline(string Description, Func<float[], double> Score, Func<float[], bool> Flag);

/// <summary>A training set and a held-out set with where they came from.</summary>
public sealed record RiskDataset(
    FeatureSet Features,
    IReadOnlyList<LabelledExample> Train,
    IReadOnlyList<LabelledExample> Test,
    RuleBaseline Baseline,
    string Source,
    string SplitDescription);
