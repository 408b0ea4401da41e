using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Beacon.Interventions.Domain;

/// <summary>
/// The district's resource report, kept per window settings for <see cref="InterventionsOptions.SuggestionCacheDuration"/>
/// (default 5 minutes): every case page asks for the types that worked best, and building the report reads every completed
/// case and the attendance around it. The figures simply expire; a completed case does not invalidate them, because one
/// more case among the district's moves them little, staff read them as a suggestion, and the answer says as of when
/// they are (a replica's completion could not reach the others' copies anyway). Two misses at once may both build; the
/// later one is kept.
/// </summary>
public sealed class ResourceReportCache(TimeProvider clock, IOptions<InterventionsOptions> options)
{
    public sealed record Figures(ResourceTables Tables, DateTimeOffset AsOf);

    private readonly ConcurrentDictionary<EffectSettings, Figures> _figures = new();
    private int _builds;

    /// <summary>How many times the report was built (a cache miss), for tests and the curious.</summary>
    public int Builds => Volatile.Read(ref _builds);

    public async Task<Figures> GetAsync(EffectSettings settings, Func<Task<ResourceTables>> build)
    {
        var now = clock.GetUtcNow();
        if (_figures.TryGetValue(settings, out var kept) && now - kept.AsOf < options.Value.SuggestionCacheDuration)
        {
            return kept;
        }
        Interlocked.Increment(ref _builds);
        var fresh = new Figures(await build(), now);
        _figures[settings] = fresh;
        return fresh;
    }
}
