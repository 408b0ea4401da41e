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
public sealed record FeatureDefinition(string Name, Func<IReadOnlyList<float>, FeatureSet, string> Describe);

/// <summary>One student (at one prediction date) with the features known then and what happened later.</summary>
public sealed record LabelledExample(string Id, float[] Features, bool Label);

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
