using Beacon.Interventions.Domain;
using Microsoft.Extensions.Options;

namespace Beacon.Interventions.Tests;

/// <summary>The district's figures behind a case's suggested types are built once per window settings and kept for a short time.</summary>
public sealed class ResourceReportCacheTests
{
    private sealed class Clock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public async Task A_hit_does_not_rebuild_other_settings_build_their_own_and_expiry_rebuilds()
    {
        var clock = new Clock(new DateTimeOffset(2026, 11, 2, 8, 0, 0, TimeSpan.Zero));
        var cache = new ResourceReportCache(clock, Options.Create(new InterventionsOptions { SuggestionCacheDuration = TimeSpan.FromMinutes(5) }));
        var built = 0;
        Task<ResourceTables> Build()
        {
            built++;
            return Task.FromResult(new ResourceTables([], [], []));
        }
        var twoWeeks = new EffectSettings(WindowWeeks: 2);

        var first = await cache.GetAsync(twoWeeks, Build);
        clock.Now = clock.Now.AddMinutes(4);
        var again = await cache.GetAsync(new EffectSettings(WindowWeeks: 2), Build);
        Assert.Equal((1, 1), (built, cache.Builds));
        Assert.Same(first, again);
        Assert.Equal(new DateTimeOffset(2026, 11, 2, 8, 0, 0, TimeSpan.Zero), again.AsOf);   // the figures' time, not the read's

        await cache.GetAsync(new EffectSettings(WindowWeeks: 1), Build);
        Assert.Equal(2, built);

        clock.Now = clock.Now.AddMinutes(1);   // five minutes after the first build: expired
        var fresh = await cache.GetAsync(twoWeeks, Build);
        Assert.Equal((3, 3), (built, cache.Builds));
        Assert.Equal(clock.Now, fresh.AsOf);
        Assert.Same(fresh, await cache.GetAsync(twoWeeks, Build));
    }
}
